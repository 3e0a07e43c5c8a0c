package selector

import "fmt"

// Selector is a compiled selector. It is immutable and safe for concurrent
// use by any number of goroutines.
type Selector struct {
	root *node
	src  string
}

// Compile parses src. The error is a *SyntaxError (wrapping ErrSyntax)
// that names the column and what was expected there.
func Compile(src string) (*Selector, error) {
	if len(src) > MaxLen {
		return nil, &SyntaxError{Column: MaxLen + 1, Msg: fmt.Sprintf("selector of %d bytes exceeds %d", len(src), MaxLen)}
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tEOF {
		return nil, errorAt(0, "expected condition, got end of input (an empty selector; write true to match everything)")
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.expected(`"&&", "||" or end of input`)
	}
	return &Selector{root: root, src: src}, nil
}

// MustCompile is Compile that panics on error, for selectors written in
// the program.
func MustCompile(src string) *Selector {
	s, err := Compile(src)
	if err != nil {
		panic(err)
	}
	return s
}

// Source returns the text s was compiled from.
func (s *Selector) Source() string { return s.src }
