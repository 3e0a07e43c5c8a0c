package rules

import (
	"errors"
	"os"
	"testing"

	"github.com/shmbus/shmbus/internal/topic"
	"github.com/shmbus/shmbus/internal/wire"
)

// FuzzLoad: Parse never panics on any text, fails only with a *RuleError
// wrapping ErrInvalidRules, and an Engine it builds applies to a few
// messages without panicking, within its limits, producing valid topics
// and header blocks.
func FuzzLoad(f *testing.F) {
	if src, err := os.ReadFile("testdata/example.toml"); err == nil {
		f.Add(string(src))
	}
	inputs := []Input{
		{Topic: []byte("orders.eu.created"), Priority: 5, Headers: block("amount", "5000", "currency", "EUR", "env", "test")},
		{Topic: []byte("legacy.eu.orders.new"), Headers: block("x-debug", "1")},
		{Topic: []byte("a"), Headers: []byte{3, 0}},
		{Topic: []byte("a.b.c.d.e.f.g.h")},
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse([]byte(src))
		if err != nil {
			var re *RuleError
			if !errors.Is(err, ErrInvalidRules) || !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RuleError wrapping ErrInvalidRules", err)
			}
			return
		}
		var out Output
		for _, in := range inputs {
			e.Apply(in, &out)
			if len(out.Copies) > e.maxCopies {
				t.Fatalf("%d copies, max_copies %d", len(out.Copies), e.maxCopies)
			}
			if !out.Moved {
				if err := topic.ValidateTopic(string(out.Topic)); err != nil {
					t.Fatalf("output topic: %v", err)
				}
			}
			validIn := wire.CheckHeaders(in.Headers) == nil
			if validIn && wire.CheckHeaders(out.Headers) != nil {
				t.Fatalf("output headers malformed: %x", out.Headers)
			}
			for _, c := range out.Copies {
				if c.Hop < 1 || c.Hop > e.maxHops {
					t.Fatalf("copy at hop %d, max_hops %d", c.Hop, e.maxHops)
				}
				if err := topic.ValidateTopic(string(c.Topic)); err != nil {
					t.Fatalf("copy topic: %v", err)
				}
				if validIn && wire.CheckHeaders(c.Headers) != nil {
					t.Fatalf("copy headers malformed: %x", c.Headers)
				}
			}
		}
	})
}
