// Package topic is the one definition of shmbus topic and pattern syntax,
// shared by the router (which matches) and the client (which checks before
// writing to its ring).
package topic

import (
	"errors"
	"fmt"
)

// Topic and pattern syntax (the NATS subject rules, made stricter):
//
//   - A topic (what is published) or pattern (what is subscribed to) is 1 to
//     MaxLen bytes of dot-separated tokens, at most MaxDepth of them.
//   - Tokens are non-empty: no leading, trailing or doubled dots.
//   - Token bytes are printable ASCII, 0x21 '!' to 0x7E '~', except '.', '*'
//     and '>'. So space, control characters, DEL and every byte >= 0x80
//     (UTF-8 included) are rejected; '$' (system topics such as
//     "$SYS.alert.ring"), '_', '-', ':' and the like are ordinary characters.
//     A '$' means nothing to matching: '>' matches "$SYS.alert.ring" too.
//   - A publish topic contains no wildcards.
//   - In a pattern, the token "*" matches exactly one token, and the token ">"
//     matches one or more trailing tokens, so it may only be the last token:
//     "a.>" matches "a.b" and "a.b.c" but not "a".
//   - '*' or '>' inside a longer token ("a*", "b>c") is an error in both a
//     topic and a pattern (NATS treats those as literals; we refuse them so
//     that a typo cannot silently become a subscription that never matches).
//
// Every rule has a test in router/topic_test.go.
const (
	// MaxLen is the longest topic or pattern in bytes.
	MaxLen = 255
	// MaxDepth is the most tokens a topic or pattern may have.
	MaxDepth = 32
)

// ErrBadTopic reports a topic or pattern that breaks the rules above. The
// wrapping message quotes it and names the first thing wrong.
var ErrBadTopic = errors.New("shmbus: bad topic")

// Scan checks s (a pattern if pattern is set) and, if toks is not nil,
// splits it into toks; n is the number of tokens. It allocates nothing when
// s is valid; the error (wrapping ErrBadTopic) is built only when it is not.
func Scan(s string, pattern bool, toks *[MaxDepth]string) (n int, err error) {
	n, p := scan(s, pattern, toks)
	if p.kind != probNone {
		return 0, p.err(s, pattern)
	}
	return n, nil
}

// Valid reports whether s is a valid topic (or pattern), without building
// an error: the matcher's check on every publish.
func Valid(s string, pattern bool, toks *[MaxDepth]string) (int, bool) {
	n, p := scan(s, pattern, toks)
	return n, p.kind == probNone
}

// ValidateTopic reports whether t is a valid publish topic: an error wrapping
// ErrBadTopic if not. It allocates nothing when t is valid.
func ValidateTopic(t string) error {
	if _, p := scan(t, false, nil); p.kind != probNone {
		return p.err(t, false)
	}
	return nil
}

// ValidatePattern reports whether p is a valid subscription pattern: an
// error wrapping ErrBadTopic if not. Every valid topic is a valid pattern
// (one that matches only itself). It allocates nothing when p is valid.
func ValidatePattern(p string) error {
	if _, pr := scan(p, true, nil); pr.kind != probNone {
		return pr.err(p, true)
	}
	return nil
}

// Byte classes, one table lookup per byte.
const (
	classBad  = iota // space, control, DEL, non-ASCII
	classOK          // an ordinary token character
	classDot         // the separator
	classWild        // '*' or '>'
)

var byteClass = func() (t [256]uint8) {
	for c := 0x21; c < 0x7f; c++ {
		t[c] = classOK
	}
	t['.'] = classDot
	t['*'] = classWild
	t['>'] = classWild
	return t
}()

// problemKind names the first rule a topic breaks.
type problemKind uint8

const (
	probNone problemKind = iota
	probEmpty
	probTooLong
	probTooDeep
	probEmptyToken
	probBadChar
	probMixedWildcard
	probWildcardInTopic
	probFullWildcardNotLast
)

// problem says what scan found wrong, without allocating: the error is built
// only by err, on the failure path.
type problem struct {
	kind problemKind
	pos  int    // 1-based token position
	tok  string // the offending token
	c    byte   // the offending byte (probBadChar)
}

// scan checks s as a topic (pattern false) or a pattern and, when toks is not
// nil, stores its tokens (substrings of s) in toks[:n]. It is the one parser
// behind validation, Insert, Remove and Match, and it never allocates.
func scan(s string, pattern bool, toks *[MaxDepth]string) (n int, p problem) {
	if len(s) == 0 {
		return 0, problem{kind: probEmpty}
	}
	if len(s) > MaxLen {
		return 0, problem{kind: probTooLong}
	}
	start := 0
	for {
		end, wild := start, false
	token:
		for ; end < len(s); end++ {
			switch byteClass[s[end]] {
			case classOK:
			case classDot:
				break token
			case classWild:
				wild = true
			default:
				return n, problem{kind: probBadChar, pos: n + 1, tok: tokenAt(s, start), c: s[end]}
			}
		}
		tok := s[start:end]
		n++
		switch {
		case n > MaxDepth:
			return n, problem{kind: probTooDeep}
		case len(tok) == 0:
			return n, problem{kind: probEmptyToken, pos: n}
		case wild && len(tok) > 1:
			return n, problem{kind: probMixedWildcard, pos: n, tok: tok}
		case wild && !pattern:
			return n, problem{kind: probWildcardInTopic, pos: n, tok: tok}
		case wild && tok == ">" && end != len(s):
			return n, problem{kind: probFullWildcardNotLast, pos: n}
		}
		if toks != nil {
			toks[n-1] = tok
		}
		if end == len(s) {
			return n, problem{}
		}
		start = end + 1
	}
}

// tokenAt returns the token of s that starts at start.
func tokenAt(s string, start int) string {
	end := start
	for end < len(s) && s[end] != '.' {
		end++
	}
	return s[start:end]
}

// err turns a problem into an error wrapping ErrBadTopic.
func (p problem) err(s string, pattern bool) error {
	what := "topic"
	if pattern {
		what = "pattern"
	}
	var msg string
	switch p.kind {
	case probEmpty:
		msg = "empty"
	case probTooLong:
		return fmt.Errorf("%s of %d bytes exceeds %d: %w", what, len(s), MaxLen, ErrBadTopic)
	case probTooDeep:
		msg = fmt.Sprintf("more than %d tokens", MaxDepth)
	case probEmptyToken:
		msg = fmt.Sprintf("empty token at position %d", p.pos)
	case probBadChar:
		msg = fmt.Sprintf("bad character %s in token %q", quoteByte(p.c), p.tok)
	case probMixedWildcard:
		msg = fmt.Sprintf("wildcard mixed with other characters in token %q (a wildcard must be a whole token)", p.tok)
	case probWildcardInTopic:
		msg = "wildcards not allowed in a publish topic"
	case probFullWildcardNotLast:
		msg = "'>' must be the last token"
	default:
		return nil
	}
	return fmt.Errorf("%s %q: %s: %w", what, s, msg, ErrBadTopic)
}

// quoteByte writes c as a Go character literal of one byte: ' ', '\x00',
// '\xff' (not %q, which would print 0xff as the rune 'ÿ').
func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return fmt.Sprintf("'%c'", c)
	}
	return fmt.Sprintf(`'\x%02x'`, c)
}
