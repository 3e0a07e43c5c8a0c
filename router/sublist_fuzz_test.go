package router

import (
	"errors"
	"strings"
	"testing"
)

// fuzzTokens is the alphabet fuzz bytes pick tokens from: few literals so
// that patterns collide, both wildcards, and two tokens that make the topic
// invalid.
var fuzzTokens = []string{"a", "b", "c", "$S", "*", ">", "a", "b", "", "x y"}

var fuzzGroups = []string{"", "", "q", "r"}

// FuzzSublist decodes the fuzz bytes into a sequence of inserts, removals
// (right and wrong), double inserts and matches, and checks every step
// against the brute-force reference and the trie invariants. Seeds:
// testdata/fuzz/FuzzSublist.
func FuzzSublist(f *testing.F) {
	f.Add([]byte{0, 2, 0, 5, 1, 1, 2, 0, 1, 3, 3, 2, 0, 1, 2, 0, 3, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), 2048)] // a few hundred operations: the checks are O(n) each
		next := func() byte {
			if len(data) == 0 {
				return 0
			}
			b := data[0]
			data = data[1:]
			return b
		}
		topic := func() string {
			toks := make([]string, 1+next()%5)
			for i := range toks {
				toks[i] = fuzzTokens[int(next())%len(fuzzTokens)]
			}
			return strings.Join(toks, ".")
		}
		s, ref := NewSublist(), refSublist{}
		var live []*Sub
		var r Result
		for id := uint64(0); len(data) > 0; id++ {
			switch op := next() % 6; op {
			case 0, 1: // insert a new Sub
				sub := &Sub{ID: id, Group: fuzzGroups[int(next())%len(fuzzGroups)]}
				p := topic()
				err := s.Insert(p, sub)
				if valid := refValid(p, true); valid != (err == nil) || (!valid && !errors.Is(err, ErrBadTopic)) {
					t.Fatalf("Insert(%q) = %v, reference valid %v", p, err, valid)
				}
				if err == nil {
					ref[sub] = p
					live = append(live, sub)
				}
			case 2, 3: // remove a live Sub under its pattern (2) or under any pattern (3)
				if len(live) == 0 {
					continue
				}
				i := int(next()) % len(live)
				sub := live[i]
				p := ref[sub]
				if op == 3 {
					p = topic()
				}
				err := s.Remove(p, sub)
				switch {
				case p == ref[sub]:
					if err != nil {
						t.Fatalf("Remove(%q, %d): %v", p, sub.ID, err)
					}
					delete(ref, sub)
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
				case !refValid(p, true):
					if !errors.Is(err, ErrBadTopic) {
						t.Fatalf("Remove(%q) = %v, want ErrBadTopic", p, err)
					}
				case !errors.Is(err, ErrSubNotFound):
					t.Fatalf("Remove(%q) of a Sub under %q = %v, want ErrSubNotFound", p, ref[sub], err)
				}
			case 4: // insert a live Sub again
				if len(live) == 0 {
					continue
				}
				sub := live[int(next())%len(live)]
				if p := ref[sub]; !errors.Is(s.Insert(p, sub), ErrSubInserted) {
					t.Fatalf("second Insert(%q, %d) did not fail with ErrSubInserted", p, sub.ID)
				}
			case 5:
				checkResult(t, s, ref, topic(), &r)
			}
			checkInvariants(t, s, ref)
		}
		for sub, p := range ref {
			if err := s.Remove(p, sub); err != nil {
				t.Fatal(err)
			}
		}
		if s.Count() != 0 || !s.root.empty() || len(s.queues) != 0 {
			t.Fatal("not empty after removing everything")
		}
	})
}
