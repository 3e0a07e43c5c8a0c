package queue

// Stats is a snapshot of a queue: gauges, then totals since it was created.
type Stats struct {
	Depth     int   // held messages: Ready + Delayed + InFlight
	Ready     int   // waiting for a consumer
	Delayed   int   // waiting out a Nak delay
	InFlight  int   // delivered, not settled
	Bytes     int64 // payload bytes held
	Consumers int
	ByLevel   [NumPriorities]int // ready messages per priority
	Alert     uint8              // highest raised alert level (percent), 0 = none
	Fill      uint8              // percent, see Queue.Fill

	Enqueued     uint64 // accepted by Push
	Delivered    uint64 // handed to a consumer (redeliveries included)
	Redelivered  uint64 // deliveries of a message delivered before
	Acked        uint64
	Naked        uint64
	AckTimeouts  uint64 // deliveries that came back for want of an ack
	Termed       uint64
	Expired      uint64 // deadline passed (held, or already at Push)
	MaxedOut     uint64 // came back after MaxDeliveries deliveries
	Rejected     uint64 // refused: Reject, DropOldest without room, too large, Refuse
	Blocked      uint64 // ErrWouldBlock answers (one sender may get several)
	Dropped      uint64 // dropped by DropOldest
	DeadLettered uint64 // dead-letter events emitted (any reason)
	Purged       uint64
}

// Stats returns a snapshot. It allocates nothing.
func (q *Queue) Stats() Stats {
	s := Stats{
		Depth:     len(q.byID),
		Ready:     q.ready,
		Delayed:   q.delayed,
		InFlight:  q.inFlight,
		Bytes:     q.bytes,
		Consumers: len(q.consumers),
		Alert:     q.AlertLevel(),
		Fill:      q.Fill(),

		Enqueued:     q.c.enqueued,
		Delivered:    q.c.delivered,
		Redelivered:  q.c.redelivered,
		Acked:        q.c.acked,
		Naked:        q.c.naks,
		AckTimeouts:  q.c.ackTimeouts,
		Termed:       q.c.termed,
		Expired:      q.c.expired,
		MaxedOut:     q.c.maxDeliveriesExhausted,
		Rejected:     q.c.rejected,
		Blocked:      q.c.blocked,
		Dropped:      q.c.dropped,
		DeadLettered: q.c.deadLettered,
		Purged:       q.c.purged,
	}
	for p := range q.levels {
		s.ByLevel[p] = q.levels[p].n
	}
	return s
}
