package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shmbus/shmbus/internal/topic"
)

// template is a rename target: literal text and captures of the rule's
// pattern. "$1" ... "$32" (the longest run of digits) or "${1}" insert a
// capture, "$$" is a literal '$'; any other '$' is literal text too
// ("$SYS.x" stays as written). A capture may sit inside a token: with
// "legacy.*" matching "legacy.eu", "v$1.x" gives "veu.x".
type template struct {
	src   string
	parts []part
}

// part is a literal (lit) or, when capture > 0, the capture $capture.
type part struct {
	lit     []byte
	capture int
}

var errNoCapture = errors.New("uses a capture that does not exist")

// compileTemplate parses s against a pattern with caps wildcards.
func compileTemplate(s string, caps int, patSrc string) (template, error) {
	t := template{src: s}
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, part{lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			lit = append(lit, s[i])
			continue
		}
		j, n := i+1, -1
		switch {
		case s[j] == '$':
			lit = append(lit, '$')
			i = j
			continue
		case s[j] == '{':
			end := strings.IndexByte(s[j:], '}')
			if end < 0 {
				return template{}, fmt.Errorf("%q: unclosed \"${\"", s)
			}
			v, err := strconv.Atoi(s[j+1 : j+end])
			if err != nil || v < 1 {
				return template{}, fmt.Errorf("%q: %q is not a capture (write ${1}, ${2} ...)", s, s[i:j+end+1])
			}
			n, j = v, j+end+1
		case s[j] >= '0' && s[j] <= '9':
			k := j
			for k < len(s) && s[k] >= '0' && s[k] <= '9' {
				k++
			}
			n, _ = strconv.Atoi(s[j:k])
			j = k
		default:
			lit = append(lit, '$')
			continue
		}
		if n < 1 || n > caps {
			return template{}, fmt.Errorf("%q %w: $%d, and pattern %q has %d wildcard(s)", s, errNoCapture, n, patSrc, caps)
		}
		flush()
		t.parts = append(t.parts, part{capture: n})
		i = j - 1
	}
	flush()
	// Captures are whole tokens (or runs of them), never empty, so the
	// result is a valid topic when the literal text is: check it with each
	// capture as a one-token stand-in. Only the length and the token count
	// can still go wrong, and expand checks those.
	var probe strings.Builder
	for _, p := range t.parts {
		if p.capture > 0 {
			probe.WriteByte('x')
		} else {
			probe.Write(p.lit)
		}
	}
	if err := topic.ValidateTopic(probe.String()); err != nil {
		return template{}, fmt.Errorf("%q does not make a valid topic: %w", s, err)
	}
	return t, nil
}

// expand appends the renamed topic to dst: ok is false (and dst as it
// was) when the result would be longer than topic.MaxLen or deeper than
// topic.MaxDepth.
func (t *template) expand(dst, src []byte, caps *captures) ([]byte, bool) {
	start := len(dst)
	for _, p := range t.parts {
		if p.capture == 0 {
			dst = append(dst, p.lit...)
		} else {
			c := caps[p.capture-1]
			dst = append(dst, src[c.start:c.end]...)
		}
	}
	out := dst[start:]
	depth := 1
	for _, c := range out {
		if c == '.' {
			depth++
		}
	}
	if len(out) > topic.MaxLen || depth > topic.MaxDepth {
		return dst[:start], false
	}
	return dst, true
}
