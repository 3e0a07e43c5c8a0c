package bus

import "github.com/shmbus/shmbus/internal/topic"

// Topic syntax is defined once, in internal/topic, and shared with the
// router: a mistake fails the call that made it, before anything is written
// to the ring (the router checks again).
//
//   - 1 to 255 bytes of dot-separated tokens, at most 32 tokens, none empty;
//   - token bytes are printable ASCII ('!' to '~') other than '.', '*', '>';
//   - in a pattern, a token "*" matches one token and a last token ">"
//     matches one or more; wildcards are whole tokens and never appear in a
//     published topic.

// ValidateTopic reports whether t is a valid publish topic: nil, or an error
// wrapping ErrBadTopic. It allocates nothing when t is valid.
func ValidateTopic(t string) error { return topic.ValidateTopic(t) }

// ValidatePattern reports whether p is a valid subscription pattern: nil, or
// an error wrapping ErrBadTopic. It allocates nothing when p is valid.
func ValidatePattern(p string) error { return topic.ValidatePattern(p) }

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
