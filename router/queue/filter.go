package queue

import (
	"fmt"
	"math/bits"
)

// Filter says whether a consumer accepts a ready message (the router
// evaluates the consumer's selector on the message's headers here). It sees
// the message's priority and payload, which it must neither keep nor
// modify, and it must not call the queue. A consumer with a filter is only
// handed messages it accepts; the others stay ready for other consumers.
type Filter func(prio uint8, payload []byte) bool

// MaxFilterScan bounds the ready messages one Next, NextFor or PeekFor
// examines for a consumer with a Filter, in delivery order (expired ones
// met on the way count, and are dropped as expired). A consumer whose
// filter accepts none of the first MaxFilterScan ready messages gets
// nothing from that call, even if an acceptable message waits further back:
// it sees deeper messages once the ones ahead of them are taken by other
// consumers. The bound keeps each call O(MaxFilterScan) however deep the
// queue is and however selective the filter.
const MaxFilterScan = 256

// SetFilter sets (nil: removes) a consumer's filter.
func (q *Queue) SetFilter(id ConsumerID, f Filter) error {
	c, ok := q.consumers[id]
	if !ok {
		return fmt.Errorf("queue %q: consumer %d: %w", q.name, id, ErrNotFound)
	}
	c.filter = f
	q.gen++ // a cached PeekFor of this consumer no longer holds
	return nil
}

// PeekFor reports the payload size of the message NextFor(id) would hand
// out now, without handing it out (nothing is counted as delivered): the
// router claims that much room in the consumer's ring first, then calls
// NextFor, so a delivery never has to be taken back. ok is false when
// NextFor would hand out nothing (unknown consumer, no credit, nothing
// ready that its filter accepts within MaxFilterScan). Messages found
// expired on the way are dropped as expired, as Next does.
//
// The choice is remembered: a NextFor(id) with no other call on the queue
// in between hands out exactly that message, without searching again,
// even if its deadline passes in between (it was live at PeekFor).
func (q *Queue) PeekFor(id ConsumerID) (size int, ok bool) {
	q.pk = peeked{}
	c := q.consumers[id]
	if c == nil || !c.onCredit || q.ready == 0 {
		return 0, false
	}
	now := q.clock()
	m, aged := q.find(c, now)
	q.checkClear() // expiries on the way may have cleared alerts
	if m == nil {
		return 0, false
	}
	q.pk = peeked{m: m, c: c, gen: q.gen, now: now, aged: aged}
	return len(m.buf), true
}

// peeked is PeekFor's remembered choice, valid while gen is the queue's.
type peeked struct {
	m    *msg
	c    *consumer
	gen  uint64
	now  int64
	aged bool
}

// find returns the ready message consumer c would get at now, under the
// starvation policy and c's filter, dropping the expired messages it
// meets; aged reports a choice made by the Aging rule. nil when none.
func (q *Queue) find(c *consumer, now int64) (m *msg, aged bool) {
	for {
		m, aged = q.pick()
		if m == nil {
			return nil, false
		}
		if !Expired(m.deadline(), now) {
			break
		}
		q.expire(m)
	}
	if c.filter == nil || c.filter(m.prio, m.buf) {
		return m, aged
	}
	return q.scan(c, m, now), false
}

// scan walks the ready messages in priority order (highest level first,
// FIFO within a level), skipping skip (already refused), and returns the
// first one c's filter accepts, examining at most MaxFilterScan messages
// (skip included).
func (q *Queue) scan(c *consumer, skip *msg, now int64) *msg {
	budget := MaxFilterScan - 1
	for mask := q.mask; mask != 0; {
		p := bits.Len16(mask) - 1
		mask &^= 1 << p
		for m := q.levels[p].head; m != nil; {
			next := m.next // m may be dropped below
			if m != skip {
				if budget == 0 {
					return nil
				}
				budget--
				if Expired(m.deadline(), now) {
					q.expire(m)
				} else if c.filter(m.prio, m.buf) {
					return m
				}
			}
			m = next
		}
	}
	return nil
}
