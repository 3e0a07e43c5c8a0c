package queue

import (
	"testing"
	"time"
)

// FuzzQueueOps decodes bytes into a queue configuration and a sequence of
// operations, and checks after each one: every invariant of verify (depth
// and byte accounting, lists, heaps, credit, alerts), no message handed
// out while it is in flight, payloads intact, and nothing lost: the held
// messages are exactly those accepted and not yet acked, dead-lettered
// (every queue here has a dead-letter target, so every other way out is
// an event) or purged.
func FuzzQueueOps(f *testing.F) {
	f.Add([]byte{0, 8, 0, 3, 1, 0, 3, 0})
	f.Add([]byte{1, 2, 0, 0x39, 0, 0x15, 1, 0, 1, 0, 8, 60, 4, 2, 8, 30, 1, 0, 7, 1, 1, 0})
	f.Add([]byte{5, 200, 0, 1, 0, 2, 0, 3, 0, 9, 1, 0, 2, 1, 5, 0, 6, 0, 8, 200, 9, 3, 0, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		cfg := Config{
			MaxMsgs:       4 + int(data[0]>>4),
			MaxBytes:      16 + 4*int64(data[1]),
			Overflow:      Overflow(data[0] % 3),
			DeadLetter:    "dlq",
			AckTimeout:    time.Duration(data[1]%4) * 10 * time.Millisecond,
			MaxDeliveries: int(data[1]>>2) % 4,
			DefaultTTL:    time.Duration(data[1]>>4%3) * 25 * time.Millisecond,
		}
		if data[0]&8 != 0 {
			cfg.Starvation, cfg.AgingLimit = Aging, 1+int(data[1]%3)
		}
		if data[1]&1 != 0 {
			cfg.AlertLevels, cfg.AlertHysteresis = []uint8{50, 90}, 15
		}
		q, clk := newTestQueue(t, cfg)
		const consumers = 4
		for c := ConsumerID(1); c <= consumers; c++ {
			q.AddConsumer(c, int(c))
		}
		live := map[uint64]bool{}     // accepted, not yet gone
		inFlight := map[uint64]bool{} // delivered, per the queue's state after the last op
		var nextID uint64
		pick := func(arg byte) (uint64, bool) { // a held message, in flight or not
			if len(q.byID) == 0 {
				return 0, false
			}
			i := int(arg) % len(q.byID)
			for id := range q.byID {
				if i == 0 {
					return id, true
				}
				i--
			}
			return 0, false
		}
		deliver := func(d Delivery) {
			if inFlight[d.ID] {
				t.Fatalf("message %d delivered while in flight", d.ID)
			}
			if !live[d.ID] {
				t.Fatalf("message %d delivered but not held", d.ID)
			}
			for _, b := range d.Payload {
				if b != byte(d.ID) {
					t.Fatalf("message %d: payload corrupted", d.ID)
				}
			}
		}
		ops := data[2:]
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%13, ops[i+1]
			switch op {
			case 0, 1:
				nextID++
				var dl int64
				if arg>>6 != 0 {
					dl = clk.now + int64(arg>>6)*int64(20*time.Millisecond)
				}
				payload := make([]byte, int(arg>>3&7)*5)
				for j := range payload {
					payload[j] = byte(nextID)
				}
				if err := q.Push(nextID, arg%10, dl, payload); err == nil {
					live[nextID] = true
				}
			case 2:
				if d, ok := q.Next(); ok {
					deliver(d)
				}
			case 3:
				c := ConsumerID(arg%consumers + 1)
				size, pok := q.PeekFor(c)
				if arg&0x80 != 0 {
					q.ClearEvents() // as the router drains between the two
				}
				d, ok := q.NextFor(c)
				if ok != pok || (ok && len(d.Payload) != size) {
					t.Fatalf("PeekFor %v (%d bytes), NextFor %v (%d bytes)", pok, size, ok, len(d.Payload))
				}
				if ok {
					deliver(d)
				}
			case 4:
				if id, ok := pick(arg); ok && q.Ack(id) == nil {
					delete(live, id)
				}
			case 5:
				if id, ok := pick(arg); ok {
					q.Nak(id, time.Duration(arg%3)*15*time.Millisecond)
				}
			case 6:
				if id, ok := pick(arg); ok {
					q.Term(id)
				}
			case 7:
				if id, ok := pick(arg); ok {
					q.InProgress(id)
				}
			case 8:
				c := ConsumerID(arg%consumers + 1)
				q.ConsumerGone(c)
				q.AddConsumer(c, int(arg>>4%4)+1)
			case 9:
				q.SetPrefetch(ConsumerID(arg%consumers+1), int(arg>>4%4)+1)
			case 10:
				if arg < 8 {
					for id, m := range q.byID {
						if m.state != stInFlight {
							delete(live, id)
						}
					}
					q.Purge()
				} else {
					q.Refuse()
				}
			case 12:
				// A filter on a consumer: payloads carry their id in every
				// byte, so this accepts ids by residue (empty payloads too).
				var f Filter
				if k := arg >> 2 % 4; k != 0 {
					f = func(_ uint8, p []byte) bool { return len(p) == 0 || p[0]%k != 0 }
				}
				q.SetFilter(ConsumerID(arg%consumers+1), f)
			case 11:
				clk.advance(time.Duration(arg) * time.Millisecond)
				next := q.Tick(clk.now)
				if next != 0 && next <= clk.now {
					t.Fatalf("Tick returned %d, not after now %d", next, clk.now)
				}
			}
			for _, e := range q.Events() {
				if e.Kind != EventDeadLetter {
					continue
				}
				if !live[e.ID] || q.byID[e.ID] != nil {
					t.Fatalf("dead letter %d (%s): live %v, still held %v", e.ID, e.Reason, live[e.ID], q.byID[e.ID] != nil)
				}
				if e.Reason == ReasonMaxDeliveries && int(e.Deliveries) < cfg.MaxDeliveries {
					t.Fatalf("dead letter %d for max deliveries after %d", e.ID, e.Deliveries)
				}
				delete(live, e.ID)
			}
			q.ClearEvents()
			if err := verify(q); err != nil {
				t.Fatalf("op %d (%d %d): %v", i/2, op, arg, err)
			}
			if len(live) != len(q.byID) {
				t.Fatalf("op %d: %d messages accepted and not gone, %d held", i/2, len(live), len(q.byID))
			}
			clear(inFlight)
			for id, m := range q.byID {
				if !live[id] {
					t.Fatalf("op %d: held message %d was never accepted or is gone", i/2, id)
				}
				if m.state == stInFlight {
					inFlight[id] = true
				}
			}
		}
	})
}
