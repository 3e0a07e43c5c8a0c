package bench

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"sync/atomic"
)

// What a pub/sub run publishes to and what its subscribers subscribe to
// (bus.* and nats.* alike):
//
//	plain             publish bench.tput                  subscribe bench.tput
//	topics T          publish bench.t.0 .. bench.t.<T-1>,  subscribe bench.t.>
//	                  round robin
//	wildcards K       publish bench.w.0.x .. bench.w.<K-1>.x, subscribe bench.w.<i>.* for
//	                  round robin                         each i: K subscriptions, one match each
//
// topics T is what the router's (or the server's) match costs when every
// message has a topic it has not seen for T messages; wildcards K is what
// K wildcard subscriptions in its trie cost per message.
type topicPlan struct {
	Topics int // > 0: distinct topics, one subscription on bench.t.>
	Wild   int // > 0: wildcard subscriptions, one per topic
}

func planOf(a *childArgs) topicPlan { return topicPlan{Topics: a.Topics, Wild: a.Wild} }

// publishTo returns the topics to publish, round robin, for n messages:
// only as many as n reaches.
func (tp topicPlan) publishTo(n int) []string {
	switch {
	case tp.Wild > 0:
		t := make([]string, min(tp.Wild, n))
		for i := range t {
			t[i] = "bench.w." + strconv.Itoa(i) + ".x"
		}
		return t
	case tp.Topics > 0:
		t := make([]string, min(tp.Topics, n))
		for i := range t {
			t[i] = "bench.t." + strconv.Itoa(i)
		}
		return t
	}
	return []string{subjTput}
}

// patterns returns what each subscriber subscribes to.
func (tp topicPlan) patterns() []string {
	switch {
	case tp.Wild > 0:
		p := make([]string, tp.Wild)
		for i := range p {
			p[i] = "bench.w." + strconv.Itoa(i) + ".*"
		}
		return p
	case tp.Topics > 0:
		return []string{"bench.t.>"}
	}
	return []string{subjTput}
}

// seqCheck checks what one subscriber receives: n messages in all, of
// size bytes, whose sequence numbers (the first 8 bytes) arrive in order
// on each of its k subscriptions. Subscription i of k matches the
// messages i, i+k, i+2k, ... (wildcards; k = 1 otherwise), and sees them
// in order even where subscriptions deliver concurrently (nats.go gives
// each its own goroutine): each touches only its own slot.
type seqCheck struct {
	n, size int
	next    []uint64
	seen    atomic.Int64
	sums    []uint64 // what touchLines read, kept so the reads stay
}

func newSeqCheck(n, size, k int) *seqCheck {
	c := &seqCheck{n: n, size: size, next: make([]uint64, k), sums: make([]uint64, k)}
	for i := range c.next {
		c.next[i] = uint64(i)
	}
	return c
}

// check takes message data received on subscription i. It returns done
// once all n have arrived, or an error for a gap, a repeat or a wrong size.
func (c *seqCheck) check(i int, data []byte) (done bool, err error) {
	if len(data) != c.size || binary.LittleEndian.Uint64(data) != c.next[i] {
		return false, fmt.Errorf("message %d out of sequence (dropped?)", c.next[i])
	}
	c.next[i] += uint64(len(c.next))
	c.sums[i] ^= touchLines(data)
	return c.seen.Add(1) == int64(c.n), nil
}

// sum folds what was read, for the report.
func (c *seqCheck) sum() string {
	var s uint64
	for _, x := range c.sums {
		s ^= x
	}
	return strconv.FormatUint(s, 16)
}
