package router

import (
	"errors"
	"strings"
	"testing"
)

// FuzzValidateTopic: validation never panics and agrees with the reference
// rules; every error wraps ErrBadTopic; a valid topic is a valid pattern that
// matches itself, alone and in a Sublist; Insert accepts exactly the valid
// patterns. Seeds: testdata/fuzz/FuzzValidateTopic and the validation table.
func FuzzValidateTopic(f *testing.F) {
	for _, c := range validationCases {
		f.Add(c.s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terr, perr := ValidateTopic(s), ValidatePattern(s)
		if (terr == nil) != refValid(s, false) || (perr == nil) != refValid(s, true) {
			t.Fatalf("%q: ValidateTopic %v, ValidatePattern %v; reference topic %v, pattern %v",
				s, terr, perr, refValid(s, false), refValid(s, true))
		}
		for _, err := range []error{terr, perr} {
			if err != nil && (!errors.Is(err, ErrBadTopic) || !strings.HasSuffix(err.Error(), ": shmbus: bad topic")) {
				t.Fatalf("%q: error %q does not wrap ErrBadTopic", s, err)
			}
		}
		_ = Matches(s, "a.b.c") // never panics, valid or not
		_ = Matches("a.*.>", s)
		_ = Matches(s, s)
		sl := NewSublist()
		sub := &Sub{ID: 1}
		if err := sl.Insert(s, sub); (err == nil) != (perr == nil) {
			t.Fatalf("%q: Insert %v, ValidatePattern %v", s, err, perr)
		}
		if terr != nil {
			return
		}
		if perr != nil {
			t.Fatalf("%q: a valid topic but not a valid pattern: %v", s, perr)
		}
		if !Matches(s, s) || !refMatch(s, s) {
			t.Fatalf("%q does not match itself", s)
		}
		var r Result
		if sl.Match(s, &r); len(r.Plain) != 1 || r.Plain[0] != sub {
			t.Fatalf("%q: Sublist match of itself: %v", s, r.Plain)
		}
		if err := sl.Remove(s, sub); err != nil || !sl.root.empty() {
			t.Fatalf("%q: Remove: %v", s, err)
		}
	})
}
