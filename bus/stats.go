package bus

import "sync/atomic"

// Stats counts a connection's traffic. Bytes are payload bytes (Data).
type Stats struct {
	InMsgs, InBytes   uint64 // delivered by the router (replies and statuses included)
	OutMsgs, OutBytes uint64 // published
	Reconnects        uint64
	// Dropped is how many messages the router reported dropped because
	// this connection did not keep up (slow consumer, Drop policy or a
	// Block timeout).
	Dropped uint64
	// LocalDropped is how many messages sync and channel subscriptions
	// dropped because their buffer was full.
	LocalDropped uint64
	// Duplicates is how many deliveries were discarded because the
	// subscription already had that message: a router that took over after
	// another one died (or stopped) routed again records its predecessor
	// had delivered (see dedupe.go). They are counted in InMsgs too.
	Duplicates uint64
	// Expired is how many messages arrived after their deadline (they
	// waited too long in the ring to this client) and were dropped instead
	// of delivered; see Subscription.Expired.
	Expired uint64
}

// counters are written by the dispatcher (in) and by publishers (out): the
// two groups sit on separate cache lines.
type counters struct {
	inMsgs, inBytes, dropped, localDropped, duplicates, expired atomic.Uint64
	_                                                           [64]byte
	outMsgs, outBytes, reconnects                               atomic.Uint64
	_                                                           [64]byte
}

// Stats returns a snapshot of the connection's counters.
func (c *Conn) Stats() Stats {
	s := &c.stats
	return Stats{
		InMsgs:       s.inMsgs.Load(),
		InBytes:      s.inBytes.Load(),
		OutMsgs:      s.outMsgs.Load(),
		OutBytes:     s.outBytes.Load(),
		Reconnects:   s.reconnects.Load(),
		Dropped:      s.dropped.Load(),
		LocalDropped: s.localDropped.Load(),
		Duplicates:   s.duplicates.Load(),
		Expired:      s.expired.Load(),
	}
}
