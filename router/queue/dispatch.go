package queue

import "math/bits"

// Delivery is a message handed to a consumer. Payload is the queue's own
// buffer: valid until the message is settled or comes back (copy it into
// the consumer's ring before the next call on this queue).
type Delivery struct {
	Consumer   ConsumerID
	ID         uint64
	Priority   uint8
	Deliveries uint32 // 1 on the first delivery; travels with the message
	Deadline   int64  // effective deadline, 0 = none
	Payload    []byte
}

// Next hands the next ready message to the next consumer with credit, in
// round-robin order (the consumer served goes to the back). A consumer
// whose Filter accepts no ready message (within MaxFilterScan) is passed
// over and keeps its place. ok is false when no message is ready or no
// consumer with credit takes one. Messages found expired on the way are
// dropped as expired, never delivered.
func (q *Queue) Next() (d Delivery, ok bool) {
	for c := q.credit.head; c != nil && q.ready > 0; c = c.cnext {
		if d, ok = q.deliver(c, true); ok || c.filter == nil {
			// Without a filter a consumer takes any ready message: none is.
			return d, ok
		}
	}
	return Delivery{}, false
}

// NextFor hands the next ready message to consumer id if it has credit
// (the router serving a consumer whose ring has room), without changing
// the round-robin order. ok is false when the consumer is unknown, has no
// credit, or no ready message is accepted by its Filter (within
// MaxFilterScan). After PeekFor(id) it hands out the message PeekFor
// chose.
func (q *Queue) NextFor(id ConsumerID) (d Delivery, ok bool) {
	c := q.consumers[id]
	if c == nil || !c.onCredit {
		return Delivery{}, false
	}
	return q.deliver(c, false)
}

// deliver hands the next ready message to c (which has credit); rotate
// moves c to the back of the credit list. c leaves the list when its credit
// is spent.
func (q *Queue) deliver(c *consumer, rotate bool) (Delivery, bool) {
	if q.ready == 0 {
		return Delivery{}, false
	}
	var m *msg
	var aged bool
	var now int64
	if pk := &q.pk; pk.m != nil && pk.c == c && pk.gen == q.gen {
		m, aged, now = pk.m, pk.aged, pk.now // PeekFor's choice, still valid
	} else {
		now = q.clock()
		if m, aged = q.find(c, now); m == nil {
			q.checkClear()
			return Delivery{}, false
		}
	}
	q.pk = peeked{}
	q.noteStreak(m, aged)
	q.detach(m)
	if m.deliveries > 0 {
		q.c.redelivered++
	}
	m.deliveries++
	m.state = stInFlight
	m.cons = c
	c.inFlight.pushBack(m)
	q.inFlight++
	if q.cfg.AckTimeout > 0 {
		m.key[hTimer] = now + int64(q.cfg.AckTimeout)
		q.timers.push(m)
	}
	q.c.delivered++
	if rotate && c.onCredit {
		q.credit.remove(c)
	}
	q.updateCredit(c)
	q.checkClear()
	return Delivery{
		Consumer:   c.id,
		ID:         m.id,
		Priority:   m.prio,
		Deliveries: m.deliveries,
		Deadline:   m.deadline(),
		Payload:    m.buf,
	}, true
}

// pick chooses the next ready message under the starvation policy without
// taking it; aged reports a delivery on the Aging rule. nil when none.
func (q *Queue) pick() (m *msg, aged bool) {
	if q.mask == 0 {
		return nil, false
	}
	top := bits.Len16(q.mask) - 1
	if q.cfg.Starvation == Aging && q.streak >= q.cfg.AgingLimit {
		if below := q.mask & (1<<top - 1); below != 0 {
			// The oldest ready message below the top level: each level
			// is sorted by seq, so it is the oldest of their heads.
			for b := below; b != 0; b &= b - 1 {
				h := q.levels[bits.TrailingZeros16(b)].head
				if m == nil || h.seq < m.seq {
					m = h
				}
			}
			return m, true
		}
	}
	return q.levels[top].head, false
}

// noteStreak updates the Aging streak for a delivery of m (still ready).
func (q *Queue) noteStreak(m *msg, aged bool) {
	if q.cfg.Starvation != Aging {
		return
	}
	top := bits.Len16(q.mask) - 1
	switch {
	case aged:
		q.streak = 0
	case q.mask&(1<<top-1) != 0 && int(m.prio) == top:
		q.streak++
	default:
		q.streak = 0
	}
}
