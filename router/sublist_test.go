package router

import (
	"errors"
	"strings"
	"testing"
)

// NATS-style matching, one pattern against one topic.
var matchCases = []struct {
	pattern, topic string
	match          bool
}{
	// Literals.
	{"a", "a", true},
	{"a", "b", false},
	{"A", "a", false}, // case-sensitive
	{"a.b.c", "a.b.c", true},
	{"a.b.c", "a.b", false},
	{"a.b", "a.b.c", false},
	{"ab", "abc", false},
	{"a.b", "a.bc", false},
	{"a.bc", "a.b", false},
	// '*' at each position, exactly one token, never an empty one.
	{"*", "a", true},
	{"*", "a.b", false},
	{"*.b.c", "a.b.c", true},
	{"a.*.c", "a.b.c", true},
	{"a.b.*", "a.b.c", true},
	{"a.*.c", "a.b.d", false},
	{"a.b.*", "a.b", false},
	{"*.b.c", "b.c", false},
	{"*.*.*", "a.b.c", true},
	{"*.*", "a.b.c", false},
	// '>' at the end, one or more tokens.
	{">", "a", true},
	{">", "a.b.c", true},
	{"a.>", "a", false},
	{"a.>", "a.b", true},
	{"a.>", "a.b.c", true},
	{"a.>", "b.c", false},
	{"a.b.>", "a.b", false},
	{"*.>", "a", false},
	{"*.>", "a.b", true},
	{"a.*.>", "a.b", false},
	{"a.*.>", "a.b.c.d", true},
	// System topics: '$' is an ordinary character.
	{"$SYS.alert.ring", "$SYS.alert.ring", true},
	{"$SYS.>", "$SYS.alert.ring", true},
	{">", "$SYS.alert.ring", true},
	{"*.alert.*", "$SYS.alert.ring", true},
	{"SYS.>", "$SYS.alert.ring", false},
	{"$SYS", "SYS", false},
}

func TestMatchTable(t *testing.T) {
	for _, c := range matchCases {
		if got := Matches(c.pattern, c.topic); got != c.match {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.match)
		}
		if got := refMatch(c.pattern, c.topic); got != c.match {
			t.Errorf("reference: refMatch(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.match)
		}
		s := NewSublist()
		sub := &Sub{ID: 1}
		if err := s.Insert(c.pattern, sub); err != nil {
			t.Fatal(err)
		}
		var r Result
		s.Match(c.topic, &r)
		if got := len(r.Plain) == 1 && r.Plain[0] == sub; got != c.match || len(r.Plain) > 1 {
			t.Errorf("Sublist: pattern %q, topic %q: matched %v, want %v", c.pattern, c.topic, r.Plain, c.match)
		}
	}
	// Every pattern of the table in one Sublist, every topic against the reference.
	s, ref := NewSublist(), refSublist{}
	for i, c := range matchCases {
		sub := &Sub{ID: uint64(i)}
		if err := s.Insert(c.pattern, sub); err != nil {
			t.Fatal(err)
		}
		ref[sub] = c.pattern
	}
	checkInvariants(t, s, ref)
	var r Result
	for _, c := range matchCases {
		checkResult(t, s, ref, c.topic, &r)
	}
}

// An invalid topic matches nothing, not even '>'.
func TestMatchInvalidTopic(t *testing.T) {
	s := NewSublist()
	for i, p := range []string{">", "*", "*.>", "a.*", "a.>"} {
		if err := s.Insert(p, &Sub{ID: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var r Result
	for _, topic := range []string{"", ".", "a.", ".a", "a..b", "a.*", "a.>", "*", "a b", strings.Repeat("a.", 40) + "a"} {
		if s.Match(topic, &r); len(r.Plain) != 0 || len(r.Groups) != 0 {
			t.Errorf("topic %q matched %v", topic, r.Plain)
		}
	}
}

// A Sub subscribed with several overlapping patterns appears once per
// matching pattern; a Sub is one pattern, so each appears once.
func TestMatchOverlapping(t *testing.T) {
	s := NewSublist()
	subs := map[string]*Sub{}
	for i, p := range []string{"a.>", "a.*", "a.b", ">", "*.b", "a.b.>"} {
		subs[p] = &Sub{ID: uint64(i)}
		if err := s.Insert(p, subs[p]); err != nil {
			t.Fatal(err)
		}
	}
	var r Result
	for topic, want := range map[string][]string{
		"a.b":   {"a.>", "a.*", "a.b", ">", "*.b"},
		"a.b.c": {"a.>", ">", "a.b.>"},
		"a":     {">"},
		"x.b":   {">", "*.b"},
	} {
		s.Match(topic, &r)
		if len(r.Plain) != len(want) {
			t.Errorf("topic %q: %d subs, want %d", topic, len(r.Plain), len(want))
		}
		for _, p := range want {
			n := 0
			for _, sub := range r.Plain {
				if sub == subs[p] {
					n++
				}
			}
			if n != 1 {
				t.Errorf("topic %q: sub of %q appears %d times", topic, p, n)
			}
		}
	}
}

// A Sub goes under exactly one pattern of one Sublist.
func TestInsertTwice(t *testing.T) {
	s, other := NewSublist(), NewSublist()
	sub := &Sub{ID: 7}
	if err := s.Insert("a.b", sub); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{s.Insert("a.b", sub), s.Insert("a.*", sub), other.Insert("a.b", sub)} {
		if !errors.Is(err, ErrSubInserted) || !strings.Contains(err.Error(), "subscription 7") {
			t.Errorf("second insert: %v, want ErrSubInserted", err)
		}
	}
	if err := other.Remove("a.b", sub); !errors.Is(err, ErrSubNotFound) {
		t.Errorf("remove from the other Sublist: %v, want ErrSubNotFound", err)
	}
	if err := s.Remove("a.*", sub); !errors.Is(err, ErrSubNotFound) {
		t.Errorf("remove under another pattern: %v, want ErrSubNotFound", err)
	}
	if err := s.Remove("a.b", sub); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("a.b", sub); !errors.Is(err, ErrSubNotFound) {
		t.Errorf("second remove: %v, want ErrSubNotFound", err)
	}
	if err := other.Insert("x", sub); err != nil { // free again after Remove
		t.Errorf("insert after remove: %v", err)
	}
}

func TestInsertRemoveErrors(t *testing.T) {
	s := NewSublist()
	for _, err := range []error{
		s.Insert("a..b", &Sub{}), s.Insert("a.>.b", &Sub{}), s.Insert("", &Sub{}),
		s.Remove("a..b", &Sub{}), s.Remove("a b", &Sub{}),
	} {
		if !errors.Is(err, ErrBadTopic) {
			t.Errorf("%v: want ErrBadTopic", err)
		}
	}
	if err := s.Insert("a", nil); !errors.Is(err, ErrSubNotFound) {
		t.Errorf("Insert nil: %v", err)
	}
	if err := s.Remove("a", nil); !errors.Is(err, ErrSubNotFound) {
		t.Errorf("Remove nil: %v", err)
	}
	if err := s.Remove("never.inserted", &Sub{ID: 3}); !errors.Is(err, ErrSubNotFound) || !strings.Contains(err.Error(), `"never.inserted"`) {
		t.Errorf("Remove unknown: %v", err)
	}
	if s.Count() != 0 || !s.root.empty() {
		t.Errorf("failed calls changed the Sublist: count %d", s.Count())
	}
}

// Remove prunes exactly the nodes it empties.
func TestRemovePrunes(t *testing.T) {
	s := NewSublist()
	abc, ab, star, full, q := &Sub{ID: 1}, &Sub{ID: 2}, &Sub{ID: 3}, &Sub{ID: 4}, &Sub{ID: 5, Group: "g"}
	for _, in := range []struct {
		p   string
		sub *Sub
	}{{"a.b.c", abc}, {"a.b", ab}, {"a.*.c", star}, {"a.>", full}, {"x.y.z", q}} {
		if err := s.Insert(in.p, in.sub); err != nil {
			t.Fatal(err)
		}
	}
	a := s.root.children["a"]
	if err := s.Remove("a.b.c", abc); err != nil {
		t.Fatal(err)
	}
	if b := a.children["b"]; b == nil || b.children != nil || len(b.plain) != 1 {
		t.Fatal("a.b should remain, without children")
	}
	if err := s.Remove("a.*.c", star); err != nil {
		t.Fatal(err)
	}
	if a.star != nil {
		t.Fatal("a.* not pruned")
	}
	if err := s.Remove("a.>", full); err != nil {
		t.Fatal(err)
	}
	if a.full != nil {
		t.Fatal("a.> not pruned")
	}
	if err := s.Remove("a.b", ab); err != nil {
		t.Fatal(err)
	}
	if s.root.children["a"] != nil {
		t.Fatal("a not pruned")
	}
	if err := s.Remove("x.y.z", q); err != nil {
		t.Fatal(err)
	}
	if !s.root.empty() || s.Count() != 0 || len(s.queues) != 0 {
		t.Fatalf("not empty at the end: count %d, %d queue names", s.Count(), len(s.queues))
	}
}

// Members of one queue group are merged across every pattern that matches;
// distinct groups stay distinct; plain subscribers are apart.
func TestQueueGroupsMerged(t *testing.T) {
	s, ref := NewSublist(), refSublist{}
	add := func(p string, sub *Sub) {
		t.Helper()
		if err := s.Insert(p, sub); err != nil {
			t.Fatal(err)
		}
		ref[sub] = p
	}
	w1, w2, w3 := &Sub{ID: 1, Group: "workers"}, &Sub{ID: 2, Group: "workers"}, &Sub{ID: 3, Group: "workers"}
	a1, a2 := &Sub{ID: 4, Group: "audit"}, &Sub{ID: 5, Group: "audit"}
	p1 := &Sub{ID: 6}
	add("orders.*", w1)
	add("orders.eu", w2)
	add("orders.>", w3)
	add("orders.eu", a1)
	add("*.eu", a2)
	add("orders.eu", p1)
	var r Result
	s.Match("orders.eu", &r)
	if len(r.Plain) != 1 || r.Plain[0] != p1 || len(r.Groups) != 2 {
		t.Fatalf("got %s", canon(&r))
	}
	checkResult(t, s, ref, "orders.eu", &r)
	if got, want := canon(&r), "plain [6]; audit [4 5]; workers [1 2 3]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	checkResult(t, s, ref, "orders.us", &r)
	if got, want := canon(&r), "plain []; workers [1 3]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	checkResult(t, s, ref, "orders.eu.de", &r)
	if got, want := canon(&r), "plain []; workers [3]"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	checkInvariants(t, s, ref)
}

// Pick goes round the members; the counter belongs to the group name, not
// to one Result, and PickFunc skips refused members.
func TestGroupPick(t *testing.T) {
	s := NewSublist()
	members := []*Sub{{ID: 1, Group: "g"}, {ID: 2, Group: "g"}, {ID: 3, Group: "g"}}
	for i, sub := range members {
		p := []string{"t.x", "t.*", ">"}[i]
		if err := s.Insert(p, sub); err != nil {
			t.Fatal(err)
		}
	}
	var r1, r2 Result
	s.Match("t.x", &r1)
	s.Match("t.x", &r2)
	counts := map[uint64]int{}
	for i := range 30 {
		r := &r1
		if i%2 == 1 {
			r = &r2
		}
		counts[r.Groups[0].Pick().ID]++
	}
	if counts[1] != 10 || counts[2] != 10 || counts[3] != 10 {
		t.Errorf("round-robin over 3 members, 30 picks: %v", counts)
	}
	g := &r1.Groups[0]
	only2 := func(sub *Sub) bool { return sub.ID == 2 }
	for range 5 {
		if sub := g.PickFunc(only2); sub == nil || sub.ID != 2 {
			t.Fatalf("PickFunc: %v", sub)
		}
	}
	if sub := g.PickFunc(func(*Sub) bool { return false }); sub != nil {
		t.Errorf("PickFunc refusing all: %v", sub)
	}
	var empty Group
	if empty.Pick() != nil {
		t.Error("empty group picked a member")
	}
	loose := Group{Name: "x", Members: members}
	if loose.Pick() != members[0] || loose.Pick() != members[0] {
		t.Error("a Group without a counter should pick its first member")
	}
}

// Match allocates nothing once the Result has grown; nor does Pick.
func TestMatchDoesNotAllocate(t *testing.T) {
	s := NewSublist()
	patterns := []string{"a.b.c.d", "a.*.c.d", "a.>", ">", "*.b.*.d", "a.b.c.>", "x.y"}
	for i := range 200 {
		sub := &Sub{ID: uint64(i)}
		switch i % 4 {
		case 1:
			sub.Group = "g1"
		case 2:
			sub.Group = "g2"
		}
		if err := s.Insert(patterns[i%len(patterns)], sub); err != nil {
			t.Fatal(err)
		}
	}
	topics := []string{"a.b.c.d", "a.b", "x.y", "q", "nomatch.at.all", "a..b", "a.*"}
	var r Result
	for _, topic := range topics { // grow r
		s.Match(topic, &r)
	}
	var n int
	if a := testing.AllocsPerRun(1000, func() {
		for _, topic := range topics {
			s.Match(topic, &r)
			n += len(r.Plain)
			for i := range r.Groups {
				n += int(r.Groups[i].Pick().ID)
			}
		}
	}); a != 0 {
		t.Errorf("Match: %v allocs per run", a)
	}
	if n == 0 {
		t.Fatal("nothing matched")
	}
}
