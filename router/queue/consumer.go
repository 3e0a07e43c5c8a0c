package queue

import "fmt"

// ConsumerID names a consumer of one queue; the router chooses it (for
// example from the connection and subscription ids) and gets it back in
// every Delivery.
type ConsumerID uint64

// consumer is one registered competing consumer.
//
// Invariants:
//   - inFlight.n <= prefetch, except after SetPrefetch lowered the limit
//     (then no delivery goes to it until it is back below).
//   - it is on the queue's credit list exactly when inFlight.n < prefetch.
type consumer struct {
	id       ConsumerID
	prefetch int
	filter   Filter // nil: every message
	inFlight mlist  // in dispatch order
	// credit list links
	cprev, cnext *consumer
	onCredit     bool
}

// creditList is the consumers that may take a delivery, in round-robin
// order: Next serves the head and moves it to the back.
type creditList struct{ head, tail *consumer }

func (l *creditList) pushBack(c *consumer) {
	c.cnext = nil
	c.cprev = l.tail
	if l.tail != nil {
		l.tail.cnext = c
	} else {
		l.head = c
	}
	l.tail = c
	c.onCredit = true
}

func (l *creditList) remove(c *consumer) {
	if c.cprev != nil {
		c.cprev.cnext = c.cnext
	} else {
		l.head = c.cnext
	}
	if c.cnext != nil {
		c.cnext.cprev = c.cprev
	} else {
		l.tail = c.cprev
	}
	c.cprev, c.cnext = nil, nil
	c.onCredit = false
}

// updateCredit puts c on or takes it off the credit list to match its
// in-flight count (a consumer regaining credit joins at the back).
func (q *Queue) updateCredit(c *consumer) {
	has := c.inFlight.n < c.prefetch
	if has && !c.onCredit {
		q.credit.pushBack(c)
	} else if !has && c.onCredit {
		q.credit.remove(c)
	}
}

// AddConsumer registers a competing consumer that may hold up to prefetch
// unsettled deliveries. It joins the back of the round-robin order.
func (q *Queue) AddConsumer(id ConsumerID, prefetch int) error {
	if prefetch < 1 {
		return fmt.Errorf("queue %q: consumer %d: prefetch %d: %w", q.name, id, prefetch, ErrBadPrefetch)
	}
	if _, ok := q.consumers[id]; ok {
		return fmt.Errorf("queue %q: consumer %d: %w", q.name, id, ErrConsumerExists)
	}
	c := &consumer{id: id, prefetch: prefetch}
	q.consumers[id] = c
	q.updateCredit(c)
	return nil
}

// SetPrefetch changes a consumer's prefetch limit. Lowering it below the
// consumer's in-flight count takes back nothing: the consumer just gets no
// more deliveries until it has settled enough.
func (q *Queue) SetPrefetch(id ConsumerID, prefetch int) error {
	if prefetch < 1 {
		return fmt.Errorf("queue %q: consumer %d: prefetch %d: %w", q.name, id, prefetch, ErrBadPrefetch)
	}
	c, ok := q.consumers[id]
	if !ok {
		return fmt.Errorf("queue %q: consumer %d: %w", q.name, id, ErrNotFound)
	}
	c.prefetch = prefetch
	q.updateCredit(c)
	return nil
}

// ConsumerGone removes a consumer (it unsubscribed, or its connection or
// process is gone). Every message it held comes back at once: each counts
// as delivered (the delivery count went up when it was handed out), goes
// back to the head of its priority level in its original enqueue order, or
// is dead-lettered if it reached MaxDeliveries or expired. It returns how
// many messages the consumer held, or ErrNotFound.
func (q *Queue) ConsumerGone(id ConsumerID) (int, error) {
	c, ok := q.consumers[id]
	if !ok {
		return 0, fmt.Errorf("queue %q: consumer %d: %w", q.name, id, ErrNotFound)
	}
	n := c.inFlight.n
	now := q.clock()
	// Newest first: each one then lands in front of those already back,
	// so insertBySeq walks little.
	for c.inFlight.tail != nil {
		q.giveBack(c.inFlight.tail, now)
	}
	if c.onCredit {
		q.credit.remove(c)
	}
	if q.pk.c == c {
		q.pk = peeked{}
	}
	delete(q.consumers, id)
	q.checkClear()
	return n, nil
}

// Consumers is the number of registered consumers.
func (q *Queue) Consumers() int { return len(q.consumers) }

// InFlightOf is the number of unsettled deliveries a consumer holds.
func (q *Queue) InFlightOf(id ConsumerID) (int, bool) {
	c, ok := q.consumers[id]
	if !ok {
		return 0, false
	}
	return c.inFlight.n, true
}
