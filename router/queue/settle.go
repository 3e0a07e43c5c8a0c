package queue

import "time"

// Settling a delivery: Ack (done), Nak (try again, maybe later), Term (never
// again: dead letter), InProgress (still working: restart the ack timer).
// Each takes the message id the Delivery carried and returns ErrNotFound
// when no such message is held, ErrNotInFlight when it is held but not
// delivered. They return bare sentinels and allocate nothing.

// inFlightMsg finds a message in flight.
func (q *Queue) inFlightMsg(id uint64) (*msg, error) {
	m, ok := q.byID[id]
	if !ok {
		return nil, ErrNotFound
	}
	if m.state != stInFlight {
		return nil, ErrNotInFlight
	}
	return m, nil
}

// Holder is the consumer a message is in flight with (the router can check
// that a settlement comes from the right consumer).
func (q *Queue) Holder(id uint64) (ConsumerID, bool) {
	m, ok := q.byID[id]
	if !ok || m.state != stInFlight {
		return 0, false
	}
	return m.cons.id, true
}

// Ack settles a delivery: the message leaves the queue.
func (q *Queue) Ack(id uint64) error {
	m, err := q.inFlightMsg(id)
	if err != nil {
		return err
	}
	q.c.acked++
	q.drop(m, reasonAcked)
	q.checkClear()
	return nil
}

// Nak hands a delivery back for redelivery, at once (delay <= 0: to the
// head of its priority level in enqueue order) or after delay (it waits
// out the delay, still held and counted in the depth, then goes back the
// same way). A message that has reached MaxDeliveries is dead-lettered
// instead, at once.
func (q *Queue) Nak(id uint64, delay time.Duration) error {
	m, err := q.inFlightMsg(id)
	if err != nil {
		return err
	}
	q.c.naks++
	now := q.clock()
	if delay <= 0 || q.exhausted(m) {
		q.giveBack(m, now)
		q.checkClear()
		return nil
	}
	q.detach(m)
	if Expired(m.deadline(), now) {
		q.expire(m)
		q.checkClear()
		return nil
	}
	m.state = stDelayed
	q.delayed++
	m.key[hTimer] = now + int64(delay)
	q.timers.push(m)
	if m.deadline() != 0 {
		q.expiry.push(m)
	}
	return nil
}

// Term settles a delivery as a failure never to be retried: the message
// is dead-lettered with ReasonTerm (or discarded without a target).
func (q *Queue) Term(id uint64) error {
	m, err := q.inFlightMsg(id)
	if err != nil {
		return err
	}
	q.c.termed++
	q.drop(m, ReasonTerm)
	q.checkClear()
	return nil
}

// InProgress restarts a delivery's ack timer (a consumer still working on
// it). Without an AckTimeout it only checks the id.
func (q *Queue) InProgress(id uint64) error {
	m, err := q.inFlightMsg(id)
	if err != nil {
		return err
	}
	if q.cfg.AckTimeout > 0 {
		m.key[hTimer] = q.clock() + int64(q.cfg.AckTimeout)
		q.timers.fix(m)
	}
	return nil
}

// exhausted reports whether m may not be delivered again.
func (q *Queue) exhausted(m *msg) bool {
	return q.cfg.MaxDeliveries > 0 && int(m.deliveries) >= q.cfg.MaxDeliveries
}

// giveBack returns an in-flight or delayed message to its level (Nak,
// ack timeout, ConsumerGone, end of a Nak delay), unless it has expired or
// reached MaxDeliveries, in which case it is dead-lettered.
func (q *Queue) giveBack(m *msg, now int64) {
	q.detach(m)
	switch {
	case Expired(m.deadline(), now):
		q.expire(m)
	case q.exhausted(m):
		q.c.maxDeliveriesExhausted++
		q.drop(m, ReasonMaxDeliveries)
	default:
		q.makeReady(m)
	}
}

// expire drops m as expired, counted.
func (q *Queue) expire(m *msg) {
	q.c.expired++
	q.drop(m, ReasonExpired)
}

// detach unlinks m from whatever holds it (level, consumer, heaps); it
// stays accounted (byID, bytes) and its state becomes stFree.
func (q *Queue) detach(m *msg) {
	q.gen++
	switch m.state {
	case stReady:
		l := &q.levels[m.prio]
		l.remove(m)
		if l.head == nil {
			q.mask &^= 1 << m.prio
		}
		q.expiry.remove(m)
		q.ready--
	case stDelayed:
		q.timers.remove(m)
		q.expiry.remove(m)
		q.delayed--
	case stInFlight:
		c := m.cons
		c.inFlight.remove(m)
		m.cons = nil
		q.timers.remove(m)
		q.inFlight--
		q.updateCredit(c)
	}
	m.state = stFree
}

// drop takes m out of the queue for good: detached, unaccounted, its
// payload dead-lettered (for the reasons that are) or back in the pool,
// the message on the free list. Callers run checkClear once their whole
// operation is done.
func (q *Queue) drop(m *msg, r Reason) {
	q.detach(m)
	delete(q.byID, m.id)
	q.bytes -= int64(len(m.buf))
	if !q.deadLetter(m, r) {
		q.pool.put(m.buf)
	}
	q.freeMsg(m)
}
