package bus

import "fmt"

// Topic syntax, checked here before anything is written to the ring so that
// a mistake fails the call that made it (the router checks again):
//
//   - 1 to 255 bytes of dot-separated tokens, at most 32 tokens, none empty;
//   - token bytes are printable ASCII ('!' to '~') other than '.', '*', '>';
//   - in a pattern, a token "*" matches one token and a last token ">"
//     matches one or more; wildcards are whole tokens and never appear in a
//     published topic.
//
// These are the router's rules (router/topic.go); TestTopicRulesMatchRouter
// keeps the two in step.
const (
	maxTopicLen   = 255
	maxTopicDepth = 32
)

// ValidateTopic reports whether t is a valid publish topic: nil, or an error
// wrapping ErrBadTopic. It allocates nothing when t is valid.
func ValidateTopic(t string) error { return checkTopic(t, false) }

// ValidatePattern reports whether p is a valid subscription pattern: nil, or
// an error wrapping ErrBadTopic. It allocates nothing when p is valid.
func ValidatePattern(p string) error { return checkTopic(p, true) }

func checkTopic(s string, pattern bool) error {
	what := "topic"
	if pattern {
		what = "pattern"
	}
	if len(s) == 0 {
		return fmt.Errorf("%s is empty: %w", what, ErrBadTopic)
	}
	if len(s) > maxTopicLen {
		return fmt.Errorf("%s of %d bytes exceeds %d: %w", what, len(s), maxTopicLen, ErrBadTopic)
	}
	start, depth := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if c := s[i]; c < '!' || c > '~' {
				return fmt.Errorf("%s %q: bad character %q at byte %d: %w", what, s, c, i, ErrBadTopic)
			}
			continue
		}
		tok := s[start:i]
		depth++
		switch {
		case depth > maxTopicDepth:
			return fmt.Errorf("%s %q: more than %d tokens: %w", what, s, maxTopicDepth, ErrBadTopic)
		case len(tok) == 0:
			return fmt.Errorf("%s %q: empty token %d: %w", what, s, depth, ErrBadTopic)
		case tok == "*" || tok == ">":
			if !pattern {
				return fmt.Errorf("topic %q: wildcard %q in a publish topic: %w", s, tok, ErrBadTopic)
			}
			if tok == ">" && i != len(s) {
				return fmt.Errorf("pattern %q: '>' must be the last token: %w", s, ErrBadTopic)
			}
		default:
			for j := 0; j < len(tok); j++ {
				if tok[j] == '*' || tok[j] == '>' {
					return fmt.Errorf("%s %q: wildcard inside token %q (a wildcard is a whole token): %w", what, s, tok, ErrBadTopic)
				}
			}
		}
		start = i + 1
	}
	return nil
}

// isLiteral reports whether a valid pattern has no wildcard token (it then
// matches only itself).
func isLiteral(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] == '*' || p[i] == '>' {
			return false
		}
	}
	return true
}
