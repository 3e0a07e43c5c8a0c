package rules

import (
	"github.com/shmbus/shmbus/internal/topic"
)

// pattern is a rule's topic pattern (internal/topic syntax: "*" is one
// token, ">" one or more trailing tokens), split into tokens at load so
// that matching allocates nothing. Each wildcard is a capture, numbered
// from 1 left to right: in "legacy.*.orders.>", $1 is the token matched by
// "*" and $2 everything matched by ">" (its tokens joined by dots, as in
// the topic).
type pattern struct {
	src  string
	toks []string
	caps int // wildcards in toks
}

// span is a capture: topic[start:end].
type span struct{ start, end int }

// captures holds a match's captures, $1 at index 0; a pattern has at most
// topic.MaxDepth wildcards.
type captures [topic.MaxDepth]span

func compilePattern(s string) (pattern, error) {
	var toks [topic.MaxDepth]string
	n, err := topic.Scan(s, true, &toks)
	if err != nil {
		return pattern{}, err
	}
	p := pattern{src: s, toks: append([]string(nil), toks[:n]...)}
	for _, t := range p.toks {
		if t == "*" || t == ">" {
			p.caps++
		}
	}
	return p, nil
}

// match reports whether t matches p, filling caps (when not nil) with the
// wildcards' spans. t is assumed a valid topic (the router checked it);
// for any other bytes the answer is unspecified, but match never panics.
// It allocates nothing.
func (p *pattern) match(t []byte, caps *captures) bool {
	pos, c := 0, 0
	for i, pt := range p.toks {
		if pt == ">" {
			if pos == len(t) {
				return false // ">" needs at least one token
			}
			if caps != nil {
				caps[c] = span{pos, len(t)}
			}
			return true
		}
		end := pos
		for end < len(t) && t[end] != '.' {
			end++
		}
		tok := t[pos:end]
		if pt == "*" {
			if caps != nil {
				caps[c] = span{pos, end}
			}
			c++
		} else if string(tok) != pt {
			return false
		}
		if end == len(t) {
			return i == len(p.toks)-1
		}
		pos = end + 1
	}
	return false // topic has tokens left over
}
