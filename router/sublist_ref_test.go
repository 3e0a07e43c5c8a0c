package router

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// This file holds the brute-force references the Sublist is checked against:
// a validator and a matcher written the obvious way (strings.Split, no
// trie), and a "sublist" that is a map from Sub to pattern.

// refValid is the topic rules of topic.go, restated without cleverness.
func refValid(s string, pattern bool) bool {
	if len(s) == 0 || len(s) > MaxTopicLen {
		return false
	}
	toks := strings.Split(s, ".")
	if len(toks) > MaxTopicDepth {
		return false
	}
	for i, tok := range toks {
		if tok == "" {
			return false
		}
		if tok == "*" || tok == ">" {
			if !pattern || (tok == ">" && i != len(toks)-1) {
				return false
			}
			continue
		}
		for j := 0; j < len(tok); j++ {
			c := tok[j]
			if c <= ' ' || c >= 0x7f || c == '*' || c == '>' {
				return false
			}
		}
	}
	return true
}

// refMatch reports whether topic matches pattern, token by token.
func refMatch(pattern, topic string) bool {
	p, t := strings.Split(pattern, "."), strings.Split(topic, ".")
	for i, pt := range p {
		if pt == ">" {
			return len(t) > i
		}
		if i >= len(t) || (pt != "*" && pt != t[i]) {
			return false
		}
	}
	return len(p) == len(t)
}

// refSublist is a Sublist done by brute force.
type refSublist map[*Sub]string

// match returns what Match should find, canonical (see canon).
func (ref refSublist) match(topic string) string {
	var r Result
	if !refValid(topic, false) {
		return canon(&r)
	}
	groups := map[string]*Group{}
	for sub, pattern := range ref {
		if !refMatch(pattern, topic) {
			continue
		}
		if sub.Group == "" {
			r.Plain = append(r.Plain, sub)
			continue
		}
		g := groups[sub.Group]
		if g == nil {
			g = &Group{Name: sub.Group}
			groups[sub.Group] = g
		}
		g.Members = append(g.Members, sub)
	}
	for _, g := range groups {
		r.Groups = append(r.Groups, *g)
	}
	return canon(&r)
}

// canon renders a Result independently of order: plain IDs sorted, then the
// groups sorted by name with their member IDs sorted. Duplicates stay, so a
// Sub delivered twice shows.
func canon(r *Result) string {
	ids := func(subs []*Sub) []uint64 {
		out := make([]uint64, 0, len(subs))
		for _, s := range subs {
			out = append(out, s.ID)
		}
		slices.Sort(out)
		return out
	}
	var b strings.Builder
	fmt.Fprintf(&b, "plain %v", ids(r.Plain))
	groups := slices.Clone(r.Groups)
	slices.SortFunc(groups, func(x, y Group) int { return strings.Compare(x.Name, y.Name) })
	for _, g := range groups {
		fmt.Fprintf(&b, "; %s %v", g.Name, ids(g.Members))
	}
	return b.String()
}

// checkResult checks Match against the reference for one topic, and the
// shape of the Result: no group twice, no empty group.
func checkResult(t testing.TB, s *Sublist, ref refSublist, topic string, r *Result) {
	t.Helper()
	s.Match(topic, r)
	seen := map[string]bool{}
	for _, g := range r.Groups {
		if seen[g.Name] || len(g.Members) == 0 {
			t.Fatalf("topic %q: group %q repeated or empty in %s", topic, g.Name, canon(r))
		}
		seen[g.Name] = true
	}
	if got, want := canon(r), ref.match(topic); got != want {
		t.Fatalf("topic %q:\n got %s\nwant %s", topic, got, want)
	}
}

// checkInvariants walks the trie: every Sub's back-pointers are right, no
// node but the root is empty, the counts add up.
func checkInvariants(t testing.TB, s *Sublist, ref refSublist) {
	t.Helper()
	subs := 0
	queueRefs := map[string]int{}
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		if n != &s.root && n.empty() {
			t.Fatalf("empty node at %q not pruned", path)
		}
		for i, sub := range n.plain {
			if sub.node != n || sub.qg != nil || sub.idx != i || sub.Group != "" {
				t.Fatalf("plain sub %d at %q: bad back-pointers", sub.ID, path)
			}
			if ref != nil && ref[sub] != path {
				t.Fatalf("sub %d found at %q, inserted under %q", sub.ID, path, ref[sub])
			}
			subs++
		}
		for i, qg := range n.groups {
			if qg.idx != i || len(qg.members) == 0 || s.queues[qg.name] != qg.state {
				t.Fatalf("group %q at %q: bad index, no members or stale state", qg.name, path)
			}
			queueRefs[qg.name]++
			for j, sub := range qg.members {
				if sub.node != n || sub.qg != qg || sub.idx != j || sub.Group != qg.name {
					t.Fatalf("group sub %d at %q: bad back-pointers", sub.ID, path)
				}
				if ref != nil && ref[sub] != path {
					t.Fatalf("sub %d found at %q, inserted under %q", sub.ID, path, ref[sub])
				}
				subs++
			}
		}
		join := func(tok string) string {
			if n == &s.root {
				return tok
			}
			return path + "." + tok
		}
		for tok, c := range n.children {
			walk(c, join(tok))
		}
		if n.star != nil {
			walk(n.star, join("*"))
		}
		if n.full != nil {
			if n.full.children != nil || n.full.star != nil || n.full.full != nil {
				t.Fatalf("'>' node at %q has children", path)
			}
			walk(n.full, join(">"))
		}
	}
	walk(&s.root, "")
	if subs != s.Count() || (ref != nil && subs != len(ref)) {
		t.Fatalf("trie holds %d subs, Count() = %d, reference %d", subs, s.Count(), len(ref))
	}
	if len(queueRefs) != len(s.queues) {
		t.Fatalf("queue names: %d in the trie, %d in the table", len(queueRefs), len(s.queues))
	}
	for name, n := range queueRefs {
		if s.queues[name].refs != n {
			t.Fatalf("queue %q: refs %d, %d groups in the trie", name, s.queues[name].refs, n)
		}
	}
}

// randTopic returns a random topic (pattern false) or pattern over a small
// alphabet, so that collisions are common. Some are invalid on purpose.
func randTopic(rng *rand.Rand, pattern bool) string {
	lits := []string{"a", "b", "c", "$SYS", "orders"}
	depth := 1 + rng.IntN(5)
	toks := make([]string, depth)
	for i := range toks {
		toks[i] = lits[rng.IntN(len(lits))]
		if pattern {
			switch rng.IntN(8) {
			case 0, 1:
				toks[i] = "*"
			case 2:
				if i == depth-1 || rng.IntN(20) == 0 { // now and then a '>' in the middle
					toks[i] = ">"
				}
			}
		}
	}
	return strings.Join(toks, ".")
}

// Thousands of random patterns and topics against the brute force, through
// inserts, removals of half, and removal of everything.
func TestSublistRandomAgainstReference(t *testing.T) {
	seed := uint64(20240611)
	rng := rand.New(rand.NewPCG(seed, seed))
	nsubs, ntopics := 2000, 2000
	if testing.Short() {
		nsubs, ntopics = 500, 500
	}
	groups := []string{"", "", "", "q1", "q2", "q3"}
	s, ref := NewSublist(), refSublist{}
	var r Result
	for i := range nsubs {
		sub := &Sub{ID: uint64(i), Client: uint32(i % 7), Group: groups[rng.IntN(len(groups))]}
		pattern := randTopic(rng, true)
		err := s.Insert(pattern, sub)
		if valid := refValid(pattern, true); valid != (err == nil) || (!valid && !errors.Is(err, ErrBadTopic)) {
			t.Fatalf("Insert(%q) = %v, reference valid = %v", pattern, err, valid)
		}
		if err == nil {
			ref[sub] = pattern
		}
	}
	checkInvariants(t, s, ref)
	for range ntopics {
		checkResult(t, s, ref, randTopic(rng, false), &r)
	}
	live := slices.SortedFunc(maps.Keys(ref), func(x, y *Sub) int { return cmp.Compare(x.ID, y.ID) })
	for _, sub := range live { // in ID order, so the seed decides which half
		if rng.IntN(2) == 0 {
			if err := s.Remove(ref[sub], sub); err != nil {
				t.Fatal(err)
			}
			delete(ref, sub)
		}
	}
	checkInvariants(t, s, ref)
	for range ntopics {
		checkResult(t, s, ref, randTopic(rng, false), &r)
	}
	for sub, pattern := range ref {
		if err := s.Remove(pattern, sub); err != nil {
			t.Fatal(err)
		}
	}
	if s.Count() != 0 || !s.root.empty() || len(s.queues) != 0 {
		t.Fatalf("after removing everything: count %d, root empty %v, %d queue names", s.Count(), s.root.empty(), len(s.queues))
	}
}
