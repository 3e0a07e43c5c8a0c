package selector

import "fmt"

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tEOF     tokKind = iota
	tIdent           // region, x-trace, app.version
	tBuiltin         // $topic, $priority (text includes the '$')
	tString          // "eu" (val holds the decoded bytes)
	tNumber          // -12.5 (text is the source)
	tLParen          // (
	tRParen          // )
	tComma           // ,
	tEq              // ==
	tNe              // !=
	tLt              // <
	tLe              // <=
	tGt              // >
	tGe              // >=
	tAnd             // &&
	tOr              // ||
	tNot             // !
)

// token is one lexical token; off is its 0-based byte offset in the source.
type token struct {
	kind tokKind
	off  int
	text string // the source text of the token
	val  []byte // decoded value of a string literal
}

// describe names the token for an error message: `end of input`,
// `"=="`, `identifier region`, `string "eu"`, `number 100`.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of input"
	case tIdent:
		if isKeyword(t.text) {
			return fmt.Sprintf("keyword %s", t.text)
		}
		return fmt.Sprintf("identifier %s", t.text)
	case tBuiltin:
		return fmt.Sprintf("built-in %s", t.text)
	case tString:
		return "string " + t.text
	case tNumber:
		return "number " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

// Keywords: reserved words that cannot be bare header names (use
// header("in") for a header called "in").
const (
	kwIn     = "in"
	kwLike   = "like"
	kwExists = "exists"
	kwHeader = "header"
	kwTrue   = "true"
	kwFalse  = "false"
)

func isKeyword(s string) bool {
	switch s {
	case kwIn, kwLike, kwExists, kwHeader, kwTrue, kwFalse:
		return true
	}
	return false
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentByte(c byte) bool {
	return isIdentStart(c) || isDigit(c) || c == '-' || c == '.'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isIdent reports whether name can be written as a bare identifier.
func isIdent(name []byte) bool {
	if len(name) == 0 || !isIdentStart(name[0]) {
		return false
	}
	for _, c := range name[1:] {
		if !isIdentByte(c) {
			return false
		}
	}
	return !isKeyword(string(name))
}

// lexer splits a selector into tokens, one at a time.
type lexer struct {
	src string
	pos int
}

// next returns the next token, or a *SyntaxError.
func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) && (l.src[l.pos] == ' ' || l.src[l.pos] == '\t' || l.src[l.pos] == '\n' || l.src[l.pos] == '\r') {
		l.pos++
	}
	start := l.pos
	if start == len(l.src) {
		return token{kind: tEOF, off: start}, nil
	}
	c := l.src[start]
	two := ""
	if start+1 < len(l.src) {
		two = l.src[start : start+2]
	}
	op := func(k tokKind, n int) (token, error) {
		l.pos += n
		return token{kind: k, off: start, text: l.src[start:l.pos]}, nil
	}
	switch {
	case two == "==":
		return op(tEq, 2)
	case two == "!=":
		return op(tNe, 2)
	case two == "<=":
		return op(tLe, 2)
	case two == ">=":
		return op(tGe, 2)
	case two == "&&":
		return op(tAnd, 2)
	case two == "||":
		return op(tOr, 2)
	case c == '<':
		return op(tLt, 1)
	case c == '>':
		return op(tGt, 1)
	case c == '!':
		return op(tNot, 1)
	case c == '(':
		return op(tLParen, 1)
	case c == ')':
		return op(tRParen, 1)
	case c == ',':
		return op(tComma, 1)
	case c == '"':
		return l.lexString()
	case isDigit(c) || c == '-' && start+1 < len(l.src) && isDigit(l.src[start+1]):
		return l.lexNumber()
	case isIdentStart(c):
		l.pos++
		for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) {
			l.pos++
		}
		return token{kind: tIdent, off: start, text: l.src[start:l.pos]}, nil
	case c == '$':
		l.pos++
		for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) {
			l.pos++
		}
		text := l.src[start:l.pos]
		if text != "$topic" && text != "$priority" {
			return token{}, errorAt(start, "unknown built-in %q (have $topic, $priority)", text)
		}
		return token{kind: tBuiltin, off: start, text: text}, nil
	case c == '=':
		return token{}, errorAt(start, `unexpected "=" (use "==" to compare)`)
	case c == '&':
		return token{}, errorAt(start, `unexpected "&" (use "&&")`)
	case c == '|':
		return token{}, errorAt(start, `unexpected "|" (use "||")`)
	case c == '\'':
		return token{}, errorAt(start, `unexpected "'" (strings are double-quoted)`)
	}
	return token{}, errorAt(start, "unexpected character %s", quoteByte(c))
}

// lexNumber reads -?[0-9]+(\.[0-9]+)?.
func (l *lexer) lexNumber() (token, error) {
	start := l.pos
	if l.src[l.pos] == '-' {
		l.pos++
	}
	for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
		l.pos++
	}
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		if l.pos == len(l.src) || !isDigit(l.src[l.pos]) {
			return token{}, errorAt(l.pos, "expected digit after decimal point in number %s", l.src[start:l.pos])
		}
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
	}
	if l.pos < len(l.src) && (isIdentStart(l.src[l.pos]) || l.src[l.pos] == '.') {
		return token{}, errorAt(l.pos, "unexpected %s right after number %s", quoteByte(l.src[l.pos]), l.src[start:l.pos])
	}
	return token{kind: tNumber, off: start, text: l.src[start:l.pos]}, nil
}

// lexString reads a double-quoted string with the escapes \" \\ \n \r \t
// and \xHH (one byte).
func (l *lexer) lexString() (token, error) {
	start := l.pos
	l.pos++
	var val []byte
	for {
		if l.pos >= len(l.src) {
			return token{}, errorAt(start, "unterminated string")
		}
		c := l.src[l.pos]
		switch c {
		case '"':
			l.pos++
			if val == nil {
				val = []byte{}
			}
			return token{kind: tString, off: start, text: l.src[start:l.pos], val: val}, nil
		case '\\':
			if l.pos+1 >= len(l.src) {
				return token{}, errorAt(start, "unterminated string")
			}
			e := l.src[l.pos+1]
			switch e {
			case '"', '\\':
				val = append(val, e)
			case 'n':
				val = append(val, '\n')
			case 'r':
				val = append(val, '\r')
			case 't':
				val = append(val, '\t')
			case 'x':
				if l.pos+3 >= len(l.src) || unhex(l.src[l.pos+2]) < 0 || unhex(l.src[l.pos+3]) < 0 {
					return token{}, errorAt(l.pos, `expected two hex digits after \x`)
				}
				val = append(val, byte(unhex(l.src[l.pos+2])<<4|unhex(l.src[l.pos+3])))
				l.pos += 2
			default:
				return token{}, errorAt(l.pos, `unknown escape \%s in string (have \" \\ \n \r \t \xHH)`, printable(e))
			}
			l.pos += 2
		default:
			val = append(val, c)
			l.pos++
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// quoteByte writes c for an error message: '=', '\x00'.
func quoteByte(c byte) string { return "'" + printable(c) + "'" }

func printable(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(c)
	}
	return fmt.Sprintf(`\x%02x`, c)
}
