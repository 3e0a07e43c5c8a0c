package queue

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestAllocsSteadyState: a steady push/deliver/ack cycle allocates nothing
// (pooled messages and buffers, reused event slice, no boxing).
func TestAllocsSteadyState(t *testing.T) {
	for _, ttl := range []time.Duration{0, time.Hour} {
		cfg := testConfig()
		cfg.DefaultTTL, cfg.AckTimeout = ttl, time.Minute
		cfg.AlertLevels, cfg.AlertHysteresis = []uint8{50}, 10
		q, _ := newTestQueue(t, cfg)
		q.AddConsumer(1, 4)
		q.AddConsumer(2, 4)
		payload := make([]byte, 200)
		id := uint64(0)
		cycle := func() {
			id++
			if err := q.Push(id, uint8(id%10), 0, payload); err != nil {
				t.Fatal(err)
			}
			d, ok := q.Next()
			if !ok {
				t.Fatal("nothing delivered")
			}
			if err := q.Ack(d.ID); err != nil {
				t.Fatal(err)
			}
			q.Tick(0)
			q.ClearEvents()
			_ = q.Stats()
		}
		for range 100 { // warm the free lists, map and heaps
			cycle()
		}
		if a := testing.AllocsPerRun(1000, cycle); a != 0 {
			t.Errorf("ttl=%v: %v allocations per push/next/ack", ttl, a)
		}
		// Nak and redelivery, and dead letters drained, too.
		cfg.DeadLetter = "dlq"
		q, _ = newTestQueue(t, cfg)
		q.AddConsumer(1, 4)
		cycle2 := func() {
			id++
			q.Push(id, 4, 0, payload)
			d, _ := q.Next()
			q.Nak(d.ID, 0)
			d, _ = q.Next()
			q.Term(d.ID)
			q.ClearEvents()
		}
		for range 100 {
			cycle2()
		}
		if a := testing.AllocsPerRun(1000, cycle2); a != 0 {
			t.Errorf("ttl=%v: %v allocations per push/nak/term", ttl, a)
		}
	}
}

// modelMsg is the reference model's view of one message.
type modelMsg struct {
	prio       uint8
	seq        int
	holder     ConsumerID // 0: ready
	deliveries uint32
	due        int64 // ack deadline while held; Nak due time while delayed
	delayed    bool
}

// TestExactlyOnceAgainstModel drives a queue with many competing consumers
// through random pushes, deliveries, acks, naks (with and without delay),
// progress reports, ack timeouts and consumer deaths, checking each
// delivery against a model: the message is the one Strict order and
// redelivery at the head predict, it was not in flight, its consumer had
// credit, and its delivery count is right. At the end every message has
// been acked exactly once.
func TestExactlyOnceAgainstModel(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	steps := 6000
	if testing.Short() {
		seeds, steps = seeds[:2], 2000
	}
	for _, seed := range seeds {
		runModel(t, seed, steps, false)
	}
}

// TestFiltersAgainstModel is TestExactlyOnceAgainstModel with a Filter on
// about half of the consumers (each refusing a third of the messages) and
// deliveries made by PeekFor+NextFor for a random consumer as often as by
// Next: each delivery must be the first message in Strict order the
// consumer's filter accepts, within MaxFilterScan, and PeekFor must
// announce exactly what NextFor hands out.
func TestFiltersAgainstModel(t *testing.T) {
	seeds := []uint64{11, 12, 13}
	steps := 5000
	if testing.Short() {
		seeds, steps = seeds[:2], 2000
	}
	for _, seed := range seeds {
		runModel(t, seed, steps, true)
	}
}

func runModel(t *testing.T, seed uint64, steps int, filtered bool) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	cfg := testConfig()
	cfg.MaxMsgs = 300
	cfg.AckTimeout = 50 * time.Millisecond
	q, clk := newTestQueue(t, cfg)
	model := map[uint64]*modelMsg{}
	held := map[ConsumerID]int{}
	prefetch := map[ConsumerID]int{}
	acked := map[uint64]int{}
	pushed := 0
	nextCons := ConsumerID(1)
	filters := map[ConsumerID]Filter{}
	addConsumer := func() {
		p := 1 + rng.IntN(4)
		if err := q.AddConsumer(nextCons, p); err != nil {
			t.Fatal(err)
		}
		prefetch[nextCons], held[nextCons] = p, 0
		if filtered && rng.IntN(2) == 0 {
			k := byte(rng.IntN(3))
			f := func(_ uint8, p []byte) bool { return p[0]%3 != k }
			if err := q.SetFilter(nextCons, f); err != nil {
				t.Fatal(err)
			}
			filters[nextCons] = f
		}
		nextCons++
	}
	for range 6 {
		addConsumer()
	}
	backToReady := func(id uint64, m *modelMsg) {
		if m.holder != 0 {
			held[m.holder]--
		}
		m.holder, m.delayed, m.due = 0, false, 0
		_ = id
	}
	// expect is the ready message Strict order picks: highest priority,
	// then lowest enqueue seq (messages that came back keep theirs).
	expect := func() (uint64, *modelMsg) {
		var bid uint64
		var best *modelMsg
		for id, m := range model {
			if m.holder != 0 || m.delayed {
				continue
			}
			if best == nil || m.prio > best.prio || (m.prio == best.prio && m.seq < best.seq) {
				bid, best = id, m
			}
		}
		return bid, best
	}
	// readyInOrder is the ready messages in Strict order; expectFor the
	// message consumer c gets: the first its filter accepts, if within
	// MaxFilterScan.
	type cand struct {
		id uint64
		m  *modelMsg
	}
	readyInOrder := func() []cand {
		var ready []cand
		for id, m := range model {
			if m.holder == 0 && !m.delayed {
				ready = append(ready, cand{id, m})
			}
		}
		slices.SortFunc(ready, func(a, b cand) int {
			if a.m.prio != b.m.prio {
				return int(b.m.prio) - int(a.m.prio)
			}
			return a.m.seq - b.m.seq
		})
		return ready
	}
	expectFor := func(c ConsumerID, ready []cand) (uint64, *modelMsg) {
		if held[c] >= prefetch[c] {
			return 0, nil
		}
		for i, r := range ready {
			if i >= MaxFilterScan {
				break
			}
			if f := filters[c]; f == nil || f(r.m.prio, []byte{byte(r.id)}) {
				return r.id, r.m
			}
		}
		return 0, nil
	}
	randomHeld := func() (uint64, *modelMsg) {
		for id, m := range model { // map order is random enough here
			if m.holder != 0 {
				return id, m
			}
		}
		return 0, nil
	}
	for step := 0; step < steps; step++ {
		switch r := rng.IntN(100); {
		case r < 30:
			pushed++
			id := uint64(pushed)
			prio := uint8(rng.IntN(NumPriorities))
			err := q.Push(id, prio, 0, []byte{byte(id)})
			if len(model) >= cfg.MaxMsgs {
				if err != ErrQueueFull {
					t.Fatalf("seed %d step %d: push to a full queue: %v", seed, step, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("seed %d step %d: push: %v", seed, step, err)
			}
			model[id] = &modelMsg{prio: prio, seq: pushed}
		case filtered && r < 45:
			// PeekFor then NextFor, for a random consumer.
			var c ConsumerID
			for c = range held {
				break
			}
			wid, want := expectFor(c, readyInOrder())
			size, pok := q.PeekFor(c)
			d, ok := q.NextFor(c)
			if ok != pok || ok != (want != nil) || (ok && (d.ID != wid || len(d.Payload) != size || d.Consumer != c)) {
				t.Fatalf("seed %d step %d: consumer %d: peek %v (%d), next %v %d, model %v %d", seed, step, c, pok, size, ok, d.ID, want != nil, wid)
			}
			if !ok {
				continue
			}
			want.deliveries++
			if d.Deliveries != want.deliveries {
				t.Fatalf("seed %d step %d: %d deliveries %d, model %d", seed, step, d.ID, d.Deliveries, want.deliveries)
			}
			want.holder = d.Consumer
			want.due = clk.now + int64(cfg.AckTimeout)
			held[c]++
		case filtered && r < 60:
			ready := readyInOrder()
			d, ok := q.Next()
			anyone := false
			for c := range held {
				if _, m := expectFor(c, ready); m != nil {
					anyone = true
				}
			}
			if ok != anyone {
				t.Fatalf("seed %d step %d: Next ok=%v, model: some consumer can take one %v", seed, step, ok, anyone)
			}
			if !ok {
				continue
			}
			if wid, want := expectFor(d.Consumer, ready); want == nil || d.ID != wid {
				t.Fatalf("seed %d step %d: delivered %d to %d, model expects %d", seed, step, d.ID, d.Consumer, wid)
			}
			m := model[d.ID]
			m.deliveries++
			if d.Deliveries != m.deliveries {
				t.Fatalf("seed %d step %d: %d deliveries %d, model %d", seed, step, d.ID, d.Deliveries, m.deliveries)
			}
			m.holder = d.Consumer
			m.due = clk.now + int64(cfg.AckTimeout)
			held[d.Consumer]++
		case r < 60:
			d, ok := q.Next()
			wid, want := expect()
			credit := false
			for c, n := range held {
				credit = credit || n < prefetch[c]
			}
			if ok != (want != nil && credit) {
				t.Fatalf("seed %d step %d: Next ok=%v, model has ready %v, credit %v", seed, step, ok, want != nil, credit)
			}
			if !ok {
				continue
			}
			if d.ID != wid {
				t.Fatalf("seed %d step %d: delivered %d (prio %d), model expects %d (prio %d)", seed, step, d.ID, d.Priority, wid, want.prio)
			}
			if want.holder != 0 {
				t.Fatalf("seed %d step %d: %d delivered while in flight", seed, step, d.ID)
			}
			if held[d.Consumer] >= prefetch[d.Consumer] {
				t.Fatalf("seed %d step %d: consumer %d past its prefetch", seed, step, d.Consumer)
			}
			want.deliveries++
			if d.Deliveries != want.deliveries || d.Payload[0] != byte(d.ID) {
				t.Fatalf("seed %d step %d: %d deliveries %d, model %d", seed, step, d.ID, d.Deliveries, want.deliveries)
			}
			want.holder = d.Consumer
			want.due = clk.now + int64(cfg.AckTimeout)
			held[d.Consumer]++
		case r < 80:
			id, m := randomHeld()
			if m == nil {
				continue
			}
			if err := q.Ack(id); err != nil {
				t.Fatalf("seed %d step %d: ack %d: %v", seed, step, id, err)
			}
			acked[id]++
			held[m.holder]--
			delete(model, id)
		case r < 88:
			id, m := randomHeld()
			if m == nil {
				continue
			}
			delay := time.Duration(rng.IntN(3)) * 10 * time.Millisecond
			if err := q.Nak(id, delay); err != nil {
				t.Fatal(err)
			}
			backToReady(id, m)
			if delay > 0 {
				m.delayed, m.due = true, clk.now+int64(delay)
			}
		case r < 91:
			id, m := randomHeld()
			if m == nil {
				continue
			}
			q.InProgress(id)
			m.due = clk.now + int64(cfg.AckTimeout)
		case r < 94:
			// Kill a random consumer, start a new one.
			var victim ConsumerID
			for c := range held {
				victim = c
				break
			}
			n, err := q.ConsumerGone(victim)
			if err != nil || n != held[victim] {
				t.Fatalf("seed %d step %d: gone %d: %d, %v (model %d)", seed, step, victim, n, err, held[victim])
			}
			for id, m := range model {
				if m.holder == victim {
					backToReady(id, m)
				}
			}
			delete(held, victim)
			delete(prefetch, victim)
			delete(filters, victim)
			addConsumer()
		default:
			clk.advance(time.Duration(rng.IntN(30)) * time.Millisecond)
			q.Tick(clk.now)
			for id, m := range model {
				if (m.holder != 0 || m.delayed) && m.due <= clk.now {
					backToReady(id, m)
				}
			}
		}
		if err := verify(q); err != nil {
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
		if q.Depth() != len(model) {
			t.Fatalf("seed %d step %d: depth %d, model %d", seed, step, q.Depth(), len(model))
		}
	}
	// Drain: everything left is delivered and acked.
	for c := range filters {
		q.SetFilter(c, nil)
	}
	for guard := 0; q.Depth() > 0; guard++ {
		if guard > 100*cfg.MaxMsgs {
			t.Fatalf("seed %d: drain stuck at depth %d", seed, q.Depth())
		}
		clk.advance(time.Second)
		q.Tick(clk.now)
		for d, ok := q.Next(); ok; d, ok = q.Next() {
			if err := q.Ack(d.ID); err != nil {
				t.Fatal(err)
			}
			acked[d.ID]++
		}
	}
	total := 0
	for id, n := range acked {
		if n != 1 {
			t.Fatalf("seed %d: message %d acked %d times", seed, id, n)
		}
		total++
	}
	s := q.Stats()
	if uint64(total) != s.Enqueued || s.Acked != s.Enqueued {
		t.Fatalf("seed %d: %d acked, stats %+v", seed, total, s)
	}
}
