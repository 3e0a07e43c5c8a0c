package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shmbus/shmbus/internal/topic"
)

// Sentinel errors of the Sublist (ErrBadTopic is in topic.go).
var (
	// ErrSubInserted reports an Insert of a Sub that is already in a
	// Sublist: a Sub is one subscription with one pattern.
	ErrSubInserted = errors.New("shmbus: subscription already inserted")
	// ErrSubNotFound reports a Remove of a Sub that is not in this Sublist
	// under that pattern, or a nil Sub.
	ErrSubNotFound = errors.New("shmbus: subscription not found")
)

// Sub is one subscription: one client's interest in one pattern, plain or as
// a member of a queue group.
//
// A Sub is inserted under exactly one pattern of at most one Sublist at a
// time (Insert refuses a second insertion with ErrSubInserted), so a
// message is delivered at most once per Sub, as NATS delivers once per
// subscription; a client that wants two patterns makes two Subs. After
// Remove the Sub may be inserted again. Do not copy a Sub while it is
// inserted, and do not change Group while it is inserted (Remove uses the
// group it was inserted with).
type Sub struct {
	ID     uint64 // unique per router, chosen by the caller
	Client uint32 // the connection that owns the subscription
	Group  string // queue group name; "" means a plain subscription

	// Set by Insert, cleared by Remove.
	node *node   // the node of its pattern; nil when not inserted
	qg   *qgroup // its queue group in that node; nil for a plain Sub
	idx  int     // its index in node.plain or qg.members
}

// Sublist is a trie of subscriptions keyed by pattern tokens, matched
// against published topics. Matching costs O(topic depth) map lookups, times
// the number of '*' branches that exist, plus the size of the result: it
// does not grow with the number of subscriptions that do not match.
//
// A Sublist is not safe for concurrent use: it belongs to the router's event
// loop, which inserts, removes and matches from one goroutine.
//
// There is no match cache. A cache keyed by topic would have to copy the
// topic string on every miss (an allocation per new topic), and a match on a
// warm trie is already a handful of map lookups (see BenchmarkMatch).
type Sublist struct {
	root   node
	count  int
	queues map[string]*queueState // by group name, one per live group name
}

// node is one pattern token's position in the trie.
//
// Invariant: every node but the root holds a Sub or has a child; Remove
// prunes the nodes it empties.
type node struct {
	children map[string]*node // literal tokens; nil when empty
	star     *node            // the "*" child
	full     *node            // the ">" child, always a leaf
	plain    []*Sub           // plain subscriptions to the pattern ending here
	groups   []*qgroup        // queue groups subscribed to the pattern ending here
}

// qgroup is the members of one queue group under one pattern.
type qgroup struct {
	name    string
	members []*Sub // never empty
	idx     int    // its index in node.groups
	state   *queueState
}

// queueState is shared by every qgroup of one name across all patterns: a
// queue group is one set of competing consumers however many patterns its
// members subscribe with.
type queueState struct {
	refs int    // qgroups of this name
	next uint64 // round-robin counter (Group.Pick)
}

// NewSublist returns an empty Sublist.
func NewSublist() *Sublist {
	return &Sublist{queues: make(map[string]*queueState)}
}

// Count returns the number of inserted subscriptions.
func (s *Sublist) Count() int { return s.count }

// Insert adds sub under pattern. It fails with ErrBadTopic for an invalid
// pattern and ErrSubInserted if sub is already inserted.
func (s *Sublist) Insert(pattern string, sub *Sub) error {
	var toks [MaxTopicDepth]string
	n, err := topic.Scan(pattern, true, &toks)
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	if sub == nil {
		return fmt.Errorf("insert %q: nil subscription: %w", pattern, ErrSubNotFound)
	}
	if sub.node != nil {
		return fmt.Errorf("insert %q: subscription %d: %w", pattern, sub.ID, ErrSubInserted)
	}
	nd := &s.root
	for _, tok := range toks[:n] {
		nd = nd.makeChild(tok)
	}
	sub.node = nd
	if sub.Group == "" {
		sub.idx = len(nd.plain)
		nd.plain = append(nd.plain, sub)
	} else {
		qg := nd.group(sub.Group)
		if qg == nil {
			qg = &qgroup{name: sub.Group, idx: len(nd.groups), state: s.acquireQueue(sub.Group)}
			nd.groups = append(nd.groups, qg)
		}
		sub.qg = qg
		sub.idx = len(qg.members)
		qg.members = append(qg.members, sub)
	}
	s.count++
	return nil
}

// Remove takes sub out from under pattern and prunes the nodes left empty.
// It fails with ErrBadTopic for an invalid pattern and ErrSubNotFound if sub
// is not in this Sublist under pattern.
func (s *Sublist) Remove(pattern string, sub *Sub) error {
	var toks [MaxTopicDepth]string
	n, err := topic.Scan(pattern, true, &toks)
	if err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	var path [MaxTopicDepth + 1]*node
	nd := &s.root
	path[0] = nd
	for i, tok := range toks[:n] {
		if nd = nd.child(tok); nd == nil {
			break
		}
		path[i+1] = nd
	}
	if sub == nil || nd == nil || sub.node != nd {
		var id uint64
		if sub != nil {
			id = sub.ID
		}
		return fmt.Errorf("remove %q: subscription %d: %w", pattern, id, ErrSubNotFound)
	}
	if qg := sub.qg; qg != nil {
		qg.members = removeAt(qg.members, sub.idx)
		if len(qg.members) == 0 {
			last := len(nd.groups) - 1
			nd.groups[qg.idx] = nd.groups[last]
			nd.groups[qg.idx].idx = qg.idx
			nd.groups[last] = nil
			nd.groups = nd.groups[:last]
			s.releaseQueue(qg.name, qg.state)
		}
	} else {
		nd.plain = removeAt(nd.plain, sub.idx)
	}
	sub.node, sub.qg, sub.idx = nil, nil, 0
	s.count--
	for i := n; i > 0 && path[i].empty(); i-- {
		path[i-1].dropChild(toks[i-1])
	}
	return nil
}

// removeAt removes subs[i] by moving the last Sub into its place.
func removeAt(subs []*Sub, i int) []*Sub {
	last := len(subs) - 1
	subs[i] = subs[last]
	subs[i].idx = i
	subs[last] = nil // let the removed Sub be collected
	return subs[:last]
}

func (s *Sublist) acquireQueue(name string) *queueState {
	q := s.queues[name]
	if q == nil {
		q = &queueState{}
		s.queues[name] = q
	}
	q.refs++
	return q
}

func (s *Sublist) releaseQueue(name string, q *queueState) {
	if q.refs--; q.refs == 0 {
		delete(s.queues, name)
	}
}

// child returns the child for a pattern token, or nil.
func (n *node) child(tok string) *node {
	switch tok {
	case "*":
		return n.star
	case ">":
		return n.full
	}
	return n.children[tok]
}

// makeChild returns the child for a pattern token, creating it if needed.
func (n *node) makeChild(tok string) *node {
	if c := n.child(tok); c != nil {
		return c
	}
	c := &node{}
	switch tok {
	case "*":
		n.star = c
	case ">":
		n.full = c
	default:
		if n.children == nil {
			n.children = make(map[string]*node)
		}
		// Clone: the key must not pin the caller's whole pattern string.
		n.children[strings.Clone(tok)] = c
	}
	return c
}

func (n *node) dropChild(tok string) {
	switch tok {
	case "*":
		n.star = nil
	case ">":
		n.full = nil
	default:
		delete(n.children, tok)
		if len(n.children) == 0 {
			n.children = nil
		}
	}
}

// group returns the node's queue group of that name, or nil. Linear: a
// pattern rarely has more than a few groups.
func (n *node) group(name string) *qgroup {
	for _, qg := range n.groups {
		if qg.name == name {
			return qg
		}
	}
	return nil
}

func (n *node) empty() bool {
	return len(n.plain) == 0 && len(n.groups) == 0 &&
		len(n.children) == 0 && n.star == nil && n.full == nil
}
