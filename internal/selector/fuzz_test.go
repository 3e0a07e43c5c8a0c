package selector

import (
	"errors"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
)

// FuzzCompile: Compile never panics, fails only with a *SyntaxError, and
// what it accepts renders to a selector that compiles to the same String
// and evaluates the same.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{`region == "eu" && amount > 100`, `!(a in ("x", 1, true))`, `$topic like "a.*"`, `exists(header("x y"))`} {
		f.Add(s)
	}
	h := block("region", "eu", "amount", "150", "a", "x", "x y", "1")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Compile(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
				t.Fatalf("Compile(%q): %v is not a *SyntaxError", src, err)
			}
			if se.Column < 1 || se.Column > len(src)+1 && se.Column != MaxLen+1 {
				t.Fatalf("Compile(%q): column %d out of range", src, se.Column)
			}
			return
		}
		out := s.String()
		if len(out) > MaxLen {
			return
		}
		s2, err := Compile(out)
		if err != nil {
			t.Fatalf("Compile(%q).String() = %q does not compile: %v", src, out, err)
		}
		if out2 := s2.String(); out2 != out {
			t.Fatalf("round trip of %q: %q then %q", src, out, out2)
		}
		for _, p := range []uint8{0, 5} {
			if s.Eval([]byte("a.b"), p, h) != s2.Eval([]byte("a.b"), p, h) {
				t.Fatalf("%q and its String %q disagree", src, out)
			}
		}
	})
}

// FuzzEval: Eval never panics on any topic, priority or header block; a
// block internal/wire refuses matches nothing; and "!" negates.
func FuzzEval(f *testing.F) {
	f.Add(`region == "eu" && amount > 100`, []byte("orders.eu"), uint8(3), block("region", "eu", "amount", "101"))
	f.Fuzz(func(t *testing.T, src string, topic []byte, prio uint8, headers []byte) {
		s, err := Compile(src)
		if err != nil {
			return
		}
		got := s.Eval(topic, prio, headers)
		valid := wire.CheckHeaders(headers) == nil
		if valid != validBlock(headers) {
			t.Fatalf("validBlock(%x) = %v, wire says %v", headers, !valid, valid)
		}
		if !valid {
			if got {
				t.Fatalf("%q matched a malformed block %x", src, headers)
			}
			return
		}
		if checked := s.EvalChecked(topic, prio, headers); checked != got {
			t.Fatalf("%q on %x: EvalChecked %v, Eval %v", src, headers, checked, got)
		}
		if neg, err := Compile("!(" + src + ")"); err == nil && neg.Eval(topic, prio, headers) == got {
			t.Fatalf("%q and its negation both %v", src, got)
		}
	})
}
