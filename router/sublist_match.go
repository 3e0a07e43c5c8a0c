package router

import topicpkg "github.com/shmbus/shmbus/internal/topic"

// Result is what Match found for one topic. The caller owns it and reuses it
// from match to match: Match truncates the slices and appends into their
// capacity, so once a Result has grown to the largest match it sees, Match
// allocates nothing. The slices are valid until the next Match into the same
// Result (or the next Insert or Remove, which may reorder members).
//
// A Result keeps references to Subs from earlier matches in its spare
// capacity; drop the Result to let them go.
type Result struct {
	// Plain holds every matching plain subscription: each gets the message.
	Plain []*Sub
	// Groups holds one entry per matching queue group name: exactly one
	// member of each gets the message (Group.Pick).
	Groups []Group
}

// Group is a queue group in a Result: all its members whose patterns match
// the topic, merged across patterns.
type Group struct {
	Name    string
	Members []*Sub // never empty in a Result
	queue   *queueState
}

// Match fills r with the subscriptions whose patterns match topic. An
// invalid topic (see ValidateTopic; the router validates on publish)
// matches nothing. Match allocates nothing once r has grown.
//
// The order of Plain and Members follows the trie walk and is not
// meaningful.
func (s *Sublist) Match(topic string, r *Result) {
	r.Plain = r.Plain[:0]
	r.Groups = r.Groups[:0]
	var toks [MaxTopicDepth]string
	n, ok := topicpkg.Valid(topic, false, &toks)
	if !ok {
		return
	}
	s.root.match(toks[:n], r)
}

// match walks literal children iteratively and recurses only into '*'
// branches, so the work is one map lookup per topic token per '*' branch
// that exists, however many Subs hang off nodes the topic does not reach.
func (n *node) match(toks []string, r *Result) {
	for i, tok := range toks {
		if n.full != nil {
			r.collect(n.full) // '>' takes toks[i:], one or more tokens
		}
		if n.star != nil {
			n.star.match(toks[i+1:], r)
		}
		if n = n.children[tok]; n == nil {
			return
		}
	}
	r.collect(n)
}

// collect adds the subscriptions of a node whose pattern matches.
func (r *Result) collect(n *node) {
	r.Plain = append(r.Plain, n.plain...)
	for _, qg := range n.groups {
		r.addGroup(qg)
	}
}

// addGroup merges qg into the entry of its name. The lookup is linear in the
// number of groups matched so far (one pointer compare each): a topic is
// matched by few queue groups.
func (r *Result) addGroup(qg *qgroup) {
	for i := range r.Groups {
		if g := &r.Groups[i]; g.queue == qg.state {
			g.Members = append(g.Members, qg.members...)
			return
		}
	}
	n := len(r.Groups)
	if n < cap(r.Groups) {
		r.Groups = r.Groups[:n+1] // reuse the slot and its Members' capacity
	} else {
		r.Groups = append(r.Groups, Group{})
	}
	g := &r.Groups[n]
	g.Name = qg.name
	g.queue = qg.state
	g.Members = append(g.Members[:0], qg.members...)
}

// Pick returns the member that should get the next message: round-robin,
// by one counter per group name shared by every Result of the Sublist. It
// returns nil if the group has no members. A Group that Match did not fill
// has no counter and always picks its first member.
func (g *Group) Pick() *Sub {
	return g.PickFunc(nil)
}

// PickFunc is Pick, skipping members for which accept returns false (a
// client whose ring is full, say): it tries each member at most once, in
// round-robin order, and returns nil if none is accepted. A nil accept
// accepts every member.
func (g *Group) PickFunc(accept func(*Sub) bool) *Sub {
	n := uint64(len(g.Members))
	if n == 0 {
		return nil
	}
	var next uint64
	if g.queue != nil {
		next = g.queue.next
	}
	for i := range n {
		sub := g.Members[(next+i)%n]
		if accept == nil || accept(sub) {
			if g.queue != nil {
				g.queue.next = next + i + 1
			}
			return sub
		}
	}
	return nil
}
