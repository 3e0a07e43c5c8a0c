package router

import (
	"slices"
	"sort"
)

// QueueStats are one queue's state and counters in the stats snapshot.
// Gauges first, then totals since the queue was declared (the router's
// start, for queues: they live in its memory).
type QueueStats struct {
	Name       string   `json:"name"`
	Private    bool     `json:"private,omitempty"`
	Overflow   string   `json:"overflow"`
	Durability string   `json:"durability"`
	MaxMsgs    int      `json:"max_msgs"`
	MaxBytes   int64    `json:"max_bytes"`
	DeadLetter string   `json:"dead_letter,omitempty"`
	Bindings   []string `json:"bindings,omitempty"`
	Consumers  int      `json:"consumers"`

	Depth    int   `json:"depth"` // held: ready + delayed + in flight
	Ready    int   `json:"ready"`
	InFlight int   `json:"in_flight"`
	Delayed  int   `json:"delayed"`
	Bytes    int64 `json:"bytes"`
	Fill     uint8 `json:"fill_pct"`
	Alert    uint8 `json:"alert_pct"` // highest alert level raised, 0 = none

	Enqueued      uint64 `json:"enqueued"`
	Delivered     uint64 `json:"delivered"` // redeliveries included
	Redelivered   uint64 `json:"redelivered"`
	Acked         uint64 `json:"acked"`
	Naked         uint64 `json:"naked"`
	Termed        uint64 `json:"termed"`
	AckTimeouts   uint64 `json:"ack_timeouts"`
	Expired       uint64 `json:"expired"`
	MaxDeliveries uint64 `json:"max_deliveries"` // came back after the last allowed delivery
	Rejected      uint64 `json:"rejected"`
	Blocked       uint64 `json:"blocked"`
	Dropped       uint64 `json:"dropped"` // overflow drop-oldest
	DeadLettered  uint64 `json:"dead_lettered"`
	Purged        uint64 `json:"purged"`
	BoundIn       uint64 `json:"bound_in"`         // enqueued from a topic binding (in Enqueued)
	BoundRefused  uint64 `json:"bound_refused"`    // pushes from a binding the queue refused
	DeadLost      uint64 `json:"dead_letter_lost"` // dead letters discarded: target missing, refusing, or a cycle
}

// ConsumerStats are one queue consumer of a client.
type ConsumerStats struct {
	SID       uint64 `json:"sid"`
	Queue     string `json:"queue"`
	Prefetch  int    `json:"prefetch"`
	InFlight  int    `json:"in_flight"`
	Delivered uint64 `json:"delivered"`
	Selector  string `json:"selector,omitempty"`
}

// queueStats is the queues' part of the snapshot, sorted by name.
func (l *loop) queueStats() []QueueStats {
	if len(l.qs.queues) == 0 {
		return nil
	}
	out := make([]QueueStats, 0, len(l.qs.queues))
	for _, rq := range l.qs.queues {
		s := rq.q.Stats()
		out = append(out, QueueStats{
			Name: rq.name, Private: rq.private, Overflow: rq.cfg.Overflow, Durability: rq.cfg.Durability,
			MaxMsgs: rq.cfg.MaxMsgs, MaxBytes: rq.cfg.MaxBytes, DeadLetter: rq.cfg.DeadLetter,
			Bindings: slices.Clone(rq.q.Bindings()), Consumers: s.Consumers,
			Depth: s.Depth, Ready: s.Ready, InFlight: s.InFlight, Delayed: s.Delayed, Bytes: s.Bytes,
			Fill: s.Fill, Alert: s.Alert,
			Enqueued: s.Enqueued, Delivered: s.Delivered, Redelivered: s.Redelivered, Acked: s.Acked,
			Naked: s.Naked, Termed: s.Termed, AckTimeouts: s.AckTimeouts, Expired: s.Expired,
			MaxDeliveries: s.MaxedOut, Rejected: s.Rejected, Blocked: s.Blocked, Dropped: s.Dropped,
			DeadLettered: s.DeadLettered, Purged: s.Purged,
			BoundIn: rq.boundIn, BoundRefused: rq.boundRefused, DeadLost: rq.deadLost,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// consumerStats is c's queue consumers, by sid.
func (c *client) consumerStats() []ConsumerStats {
	if len(c.qcons) == 0 {
		return nil
	}
	out := make([]ConsumerStats, 0, len(c.qcons))
	for _, qc := range c.qcons {
		cs := ConsumerStats{SID: qc.sid, Queue: qc.rq.name, Prefetch: qc.prefetch, Delivered: qc.delivered}
		cs.InFlight, _ = qc.rq.q.InFlightOf(qc.id)
		if qc.sel != nil {
			cs.Selector = qc.sel.Source()
		}
		out = append(out, cs)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SID < out[j].SID })
	return out
}
