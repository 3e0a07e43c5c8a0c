package selector

import (
	"strconv"
	"strings"
)

// String renders s in a canonical form: single spaces around binary
// operators, parentheses only where precedence needs them, strings quoted
// with the selector's own escapes. Compile(s.String()) gives a selector
// with the same String (when it fits in MaxLen), and never a deeper one.
func (s *Selector) String() string {
	var b strings.Builder
	s.root.render(&b)
	return b.String()
}

func (n *node) render(b *strings.Builder) {
	switch n.kind {
	case nOr, nAnd:
		sep := " || "
		if n.kind == nAnd {
			sep = " && "
		}
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// Flattening leaves no same-kind kid, so only an || under an
			// && needs parentheses.
			if n.kind == nAnd && k.kind == nOr {
				b.WriteByte('(')
				k.render(b)
				b.WriteByte(')')
			} else {
				k.render(b)
			}
		}
	case nNot:
		b.WriteByte('!')
		// "!" binds to a whole comparison (!a == b is !(a == b)), so only
		// && and || need parentheses.
		if k := n.kids[0]; k.kind == nAnd || k.kind == nOr {
			b.WriteByte('(')
			k.render(b)
			b.WriteByte(')')
		} else {
			k.render(b)
		}
	case nConst:
		b.WriteString(strconv.FormatBool(n.val))
	case nExists:
		b.WriteString("exists(")
		writeHeaderName(b, n.name)
		b.WriteByte(')')
	case nCmp:
		n.a.render(b)
		b.WriteString(" " + opText[n.op] + " ")
		n.b.render(b)
	case nIn:
		n.a.render(b)
		b.WriteString(" in (")
		for i := range n.list {
			if i > 0 {
				b.WriteString(", ")
			}
			n.list[i].render(b)
		}
		b.WriteByte(')')
	case nLike:
		n.a.render(b)
		b.WriteString(" like ")
		writeQuoted(b, n.pat)
	}
}

func (o *operand) render(b *strings.Builder) {
	switch o.kind {
	case oHeader:
		writeHeaderName(b, o.name)
	case oTopic:
		b.WriteString("$topic")
	case oPriority:
		b.WriteString("$priority")
	case oString:
		writeQuoted(b, o.text)
	case oNumber:
		b.Write(o.text)
	case oBool:
		b.WriteString(strconv.FormatBool(o.b))
	}
}

// writeHeaderName writes name bare when it is an identifier, else as
// header("name").
func writeHeaderName(b *strings.Builder, name []byte) {
	if isIdent(name) {
		b.Write(name)
		return
	}
	b.WriteString("header(")
	writeQuoted(b, name)
	b.WriteByte(')')
}

// writeQuoted writes v as a selector string literal.
func writeQuoted(b *strings.Builder, v []byte) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, c := range v {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c >= 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}
