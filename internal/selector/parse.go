package selector

import "fmt"

// Limits on a selector, so that hostile input cannot make Compile or Eval
// use unbounded time or stack.
const (
	// MaxLen is the longest selector source in bytes.
	MaxLen = 4096
	// MaxDepth is the deepest nesting of parentheses and "!" operators.
	MaxDepth = 32
)

// parser is a recursive-descent parser with one token of look-ahead. Its
// recursion is bounded by MaxDepth: only "(" and "!" recurse, and both
// count.
type parser struct {
	lex   lexer
	tok   token // the current token
	prev  token // the token before it, for "after X" in messages
	depth int
}

// advance moves to the next token.
func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.prev, p.tok = p.tok, t
	return nil
}

// expected builds the error "expected what after <prev>, got <tok>".
func (p *parser) expected(what string) error {
	after := ""
	if p.prev.text != "" {
		after = fmt.Sprintf(" after %q", p.prev.text)
	}
	return errorAt(p.tok.off, "expected %s%s, got %s", what, after, p.tok.describe())
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > MaxDepth {
		return errorAt(p.tok.off, "nesting deeper than %d", MaxDepth)
	}
	return nil
}

// parseOr: or_expr = and_expr { "||" and_expr } .
func (p *parser) parseOr() (*node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tOr {
		return first, nil
	}
	n := &node{kind: nOr}
	n.kids = appendFlat(n.kids, first, nOr)
	for p.tok.kind == tOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		k, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		n.kids = appendFlat(n.kids, k, nOr)
	}
	return n, nil
}

// parseAnd: and_expr = unary { "&&" unary } .
func (p *parser) parseAnd() (*node, error) {
	first, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tAnd {
		return first, nil
	}
	n := &node{kind: nAnd}
	n.kids = appendFlat(n.kids, first, nAnd)
	for p.tok.kind == tAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		k, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		n.kids = appendFlat(n.kids, k, nAnd)
	}
	return n, nil
}

// appendFlat appends k to kids, splicing in k's own kids when it is the
// same operator (from parentheses): (a || b) || c is a || b || c.
func appendFlat(kids []*node, k *node, kind nodeKind) []*node {
	if k.kind == kind {
		return append(kids, k.kids...)
	}
	return append(kids, k)
}

// parseUnary: unary = "!" unary | primary .
func (p *parser) parseUnary() (*node, error) {
	if p.tok.kind != tNot {
		return p.parsePrimary()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	k, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	p.depth--
	return &node{kind: nNot, kids: []*node{k}}, nil
}

// parsePrimary: primary = "(" or_expr ")" | "exists" "(" header ")" |
// ( "true" | "false" ) [ comparison tail ] | operand comparison tail .
func (p *parser) parsePrimary() (*node, error) {
	switch {
	case p.tok.kind == tLParen:
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.expected(`")" or an operator`)
		}
		p.depth--
		return n, p.advance()
	case p.tok.kind == tIdent && p.tok.text == kwExists:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tLParen {
			return nil, p.expected(`"("`)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		o, ok, err := p.parseHeaderRef()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.expected("header name")
		}
		if p.tok.kind != tRParen {
			return nil, p.expected(`")"`)
		}
		return &node{kind: nExists, name: o.name}, p.advance()
	}
	a, ok, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, p.expected("condition")
	}
	if a.kind == oBool && !isComparisonStart(p.tok) {
		return &node{kind: nConst, val: a.b}, nil
	}
	return p.parseComparison(a)
}

func isComparisonStart(t token) bool {
	switch t.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		return true
	case tIdent:
		return t.text == kwIn || t.text == kwLike
	}
	return false
}

// parseComparison parses what follows operand a:
// cmp_op operand | "in" "(" literal { "," literal } ")" | "like" string .
func (p *parser) parseComparison(a operand) (*node, error) {
	t := p.tok
	switch t.kind {
	case tEq, tNe, tLt, tLe, tGt, tGe:
		op := opEq + cmpOp(t.kind-tEq)
		if err := p.advance(); err != nil {
			return nil, err
		}
		b, ok, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.expected("value")
		}
		if op >= opLt && (a.kind == oBool || b.kind == oBool) {
			return nil, errorAt(t.off, "ordering operator %q cannot compare booleans", t.text)
		}
		return &node{kind: nCmp, op: op, a: a, b: b}, nil
	case tIdent:
		switch t.text {
		case kwIn:
			return p.parseIn(a)
		case kwLike:
			if a.kind != oHeader && a.kind != oTopic && a.kind != oString {
				return nil, errorAt(t.off, "like needs a header, $topic or a string on its left")
			}
			if err := p.advance(); err != nil {
				return nil, err
			}
			if p.tok.kind != tString {
				return nil, p.expected("pattern string")
			}
			g, err := compileGlob(p.tok.val, p.tok.off)
			if err != nil {
				return nil, err
			}
			n := &node{kind: nLike, a: a, glob: g, pat: p.tok.val}
			return n, p.advance()
		}
	}
	return nil, p.expected("comparison operator (== != < <= > >= in like)")
}

// parseIn parses "in" "(" literal { "," literal } ")".
func (p *parser) parseIn(a operand) (*node, error) {
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind != tLParen {
		return nil, p.expected(`"("`)
	}
	n := &node{kind: nIn, a: a}
	for {
		if err := p.advance(); err != nil {
			return nil, err
		}
		at := p.tok
		o, ok, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if !ok || !o.isLiteral() {
			return nil, errorAt(at.off, "expected literal (string, number, true or false) in list, got %s", at.describe())
		}
		n.list = append(n.list, o)
		if p.tok.kind == tRParen {
			return n, p.advance()
		}
		if p.tok.kind != tComma {
			return nil, p.expected(`"," or ")"`)
		}
	}
}

// parseOperand parses operand = header | builtin | literal. ok is false
// (and nothing consumed) when the current token starts none of them.
func (p *parser) parseOperand() (operand, bool, error) {
	t := p.tok
	var o operand
	switch t.kind {
	case tString:
		o = operand{kind: oString, text: t.val}
	case tNumber:
		n, _ := parseNumber([]byte(t.text))
		o = operand{kind: oNumber, text: []byte(t.text), num: n}
	case tBuiltin:
		o = operand{kind: oTopic}
		if t.text == "$priority" {
			o.kind = oPriority
		}
	case tIdent:
		switch t.text {
		case kwTrue, kwFalse:
			o = operand{kind: oBool, b: t.text == kwTrue}
		default:
			return p.parseHeaderRef()
		}
	default:
		return operand{}, false, nil
	}
	return o, true, p.advance()
}

// parseHeaderRef parses header = ident | "header" "(" string ")".
func (p *parser) parseHeaderRef() (operand, bool, error) {
	t := p.tok
	if t.kind != tIdent {
		return operand{}, false, nil
	}
	if t.text != kwHeader {
		if isKeyword(t.text) {
			return operand{}, false, nil
		}
		return operand{kind: oHeader, name: []byte(t.text)}, true, p.advance()
	}
	if err := p.advance(); err != nil {
		return operand{}, false, err
	}
	if p.tok.kind != tLParen {
		return operand{}, false, p.expected(`"("`)
	}
	if err := p.advance(); err != nil {
		return operand{}, false, err
	}
	if p.tok.kind != tString {
		return operand{}, false, p.expected("header name string")
	}
	name := p.tok.val
	if len(name) == 0 {
		return operand{}, false, errorAt(p.tok.off, "empty header name")
	}
	if err := p.advance(); err != nil {
		return operand{}, false, err
	}
	if p.tok.kind != tRParen {
		return operand{}, false, p.expected(`")"`)
	}
	return operand{kind: oHeader, name: name}, true, p.advance()
}
