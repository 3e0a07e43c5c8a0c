package queue

// Tick runs the timers due at now: expiries of ready and delayed messages,
// ack timeouts (the delivery comes back as if Nak'd, counted), and the ends
// of Nak delays. Its cost is O(k log n) for k timers due among n held
// messages: it never walks the queue. It returns the next time Tick has
// work, 0 when no timer is pending; the router sleeps no longer than that.
func (q *Queue) Tick(now int64) (next int64) {
	for m := q.expiry.peek(); m != nil && m.key[hExpiry] <= now; m = q.expiry.peek() {
		q.expire(m)
	}
	for m := q.timers.peek(); m != nil && m.key[hTimer] <= now; m = q.timers.peek() {
		if m.state == stInFlight {
			q.c.ackTimeouts++
		}
		q.giveBack(m, now)
	}
	q.checkClear()
	return q.NextDeadline()
}

// NextDeadline is the earliest pending timer (expiry, ack timeout or end of
// a Nak delay), 0 when none.
func (q *Queue) NextDeadline() int64 {
	var next int64
	if m := q.expiry.peek(); m != nil {
		next = m.key[hExpiry]
	}
	if m := q.timers.peek(); m != nil && (next == 0 || m.key[hTimer] < next) {
		next = m.key[hTimer]
	}
	return next
}
