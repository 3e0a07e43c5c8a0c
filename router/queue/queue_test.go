package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestFIFOWithinLevelHigherFirst(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	if err := q.AddConsumer(1, 100); err != nil {
		t.Fatal(err)
	}
	prios := []uint8{4, 4, 9, 0, 4, 9}
	for i, p := range prios {
		mustPush(t, q, uint64(i+1), p, 0, fmt.Sprintf("m%d", i+1))
	}
	want := []uint64{3, 6, 1, 2, 5, 4}
	for _, id := range want {
		d := mustNext(t, q)
		if d.ID != id || string(d.Payload) != fmt.Sprintf("m%d", id) || d.Deliveries != 1 {
			t.Fatalf("delivered %d %q (deliveries %d), want %d", d.ID, d.Payload, d.Deliveries, id)
		}
	}
	if _, ok := q.Next(); ok {
		t.Fatal("delivered from an empty queue")
	}
}

func TestPushCopiesPayload(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 1)
	p := []byte("hello")
	if err := q.Push(1, 4, 0, p); err != nil {
		t.Fatal(err)
	}
	copy(p, "XXXXX")
	if d := mustNext(t, q); string(d.Payload) != "hello" {
		t.Fatalf("payload %q", d.Payload)
	}
}

func TestPushErrors(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes = 10
	q, clk := newTestQueue(t, cfg)
	mustPush(t, q, 1, 4, 0, "a")
	for _, c := range []struct {
		id       uint64
		prio     uint8
		deadline int64
		payload  string
		want     error
	}{
		{2, 10, 0, "a", ErrBadPriority},
		{1, 4, 0, "a", ErrDuplicateID},
		{3, 4, 0, "0123456789A", ErrTooLarge},
		{4, 4, clk.now, "a", ErrExpired},
		{5, 4, clk.now - 1, "a", ErrExpired},
	} {
		if err := q.Push(c.id, c.prio, c.deadline, []byte(c.payload)); !errors.Is(err, c.want) {
			t.Errorf("push %d: %v, want %v", c.id, err, c.want)
		}
	}
	s := q.Stats()
	if s.Depth != 1 || s.Expired != 2 || s.Rejected != 1 || s.Enqueued != 1 {
		t.Fatalf("stats %+v", s)
	}
	check(t, q)
}

// A high-priority message pushed behind 10,000 low ones is delivered next.
func TestPriorityUnderBacklog(t *testing.T) {
	for _, st := range []Starvation{Strict, Aging} {
		t.Run("starvation="+st.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxMsgs = 20_000
			cfg.Starvation = st
			if st == Aging {
				cfg.AgingLimit = 3
			}
			q, _ := newTestQueue(t, cfg)
			q.AddConsumer(1, 1<<20)
			for i := 1; i <= 10_000; i++ {
				mustPushQuiet(t, q, uint64(i), 0)
			}
			mustPush(t, q, 100_000, 9, 0, "urgent")
			if d := mustNext(t, q); d.ID != 100_000 {
				t.Fatalf("delivered %d first, want the high-priority 100000", d.ID)
			}
			if d := mustNext(t, q); d.ID != 1 {
				t.Fatalf("then %d, want 1", d.ID)
			}
		})
	}
}

func mustPushQuiet(t testing.TB, q *Queue, id uint64, prio uint8) {
	t.Helper()
	if err := q.Push(id, prio, 0, []byte("x")); err != nil {
		t.Fatalf("push %d: %v", id, err)
	}
}

// Under a steady stream of high-priority messages, Strict never serves the
// low level; Aging(N) serves the oldest low message after every N high ones.
func TestStarvationPolicies(t *testing.T) {
	run := func(cfg Config) []uint8 {
		q, _ := newTestQueue(t, cfg)
		q.AddConsumer(1, 1)
		for i := 1; i <= 5; i++ {
			mustPushQuiet(t, q, uint64(i), 0)
		}
		mustPushQuiet(t, q, 6, 5)
		var got []uint8
		id := uint64(100)
		for range 12 {
			// Keep two high messages waiting at all times.
			for q.levels[9].n < 2 {
				id++
				mustPushQuiet(t, q, id, 9)
			}
			d := mustNext(t, q)
			got = append(got, d.Priority)
			if err := q.Ack(d.ID); err != nil {
				t.Fatal(err)
			}
			check(t, q)
		}
		return got
	}
	strict := run(testConfig())
	for i, p := range strict {
		if p != 9 {
			t.Fatalf("strict: delivery %d had priority %d: %v", i, p, strict)
		}
	}
	cfg := testConfig()
	cfg.Starvation, cfg.AgingLimit = Aging, 3
	aging := run(cfg)
	// Every fourth delivery is the oldest message below the top: the five
	// priority-0 ones (enqueued first), before the priority-5 one.
	want := []uint8{9, 9, 9, 0, 9, 9, 9, 0, 9, 9, 9, 0}
	if fmt.Sprint(aging) != fmt.Sprint(want) {
		t.Fatalf("aging: priorities %v, want %v", aging, want)
	}
}

// The Aging bound of doc.go: a waiting message m is delivered within
// (N+1)(k+1) deliveries, k the messages enqueued before it and still ready.
func TestAgingBound(t *testing.T) {
	const n = 2
	cfg := testConfig()
	cfg.Starvation, cfg.AgingLimit = Aging, n
	q, _ := newTestQueue(t, cfg)
	q.AddConsumer(1, 1)
	for i := 1; i <= 3; i++ { // k = 3 older messages, at mixed levels
		mustPushQuiet(t, q, uint64(i), uint8(i))
	}
	mustPushQuiet(t, q, 50, 1) // m
	id := uint64(100)
	for deliveries := 1; ; deliveries++ {
		for q.levels[9].n < 3 {
			id++
			mustPushQuiet(t, q, id, 9)
		}
		d := mustNext(t, q)
		q.Ack(d.ID)
		if d.ID == 50 {
			if limit := (n + 1) * (3 + 1); deliveries > limit {
				t.Fatalf("m delivered after %d deliveries, bound %d", deliveries, limit)
			}
			return
		}
		if deliveries > 100 {
			t.Fatal("m starved")
		}
	}
}

func TestRoundRobinAndPrefetch(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(10, 2)
	q.AddConsumer(20, 1)
	q.AddConsumer(30, 2)
	for i := 1; i <= 10; i++ {
		mustPushQuiet(t, q, uint64(i), 4)
	}
	var got []ConsumerID
	for {
		d, ok := q.Next()
		if !ok {
			break
		}
		got = append(got, d.Consumer)
	}
	if want := []ConsumerID{10, 20, 30, 10, 30}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("consumers %v, want %v", got, want)
	}
	if n, _ := q.InFlightOf(10); n != 2 {
		t.Fatalf("consumer 10 holds %d", n)
	}
	// Credit comes back with an ack; the consumer rejoins at the back.
	if err := q.Ack(2); err != nil { // held by 20
		t.Fatal(err)
	}
	if d := mustNext(t, q); d.Consumer != 20 || d.ID != 6 {
		t.Fatalf("delivered %d to %d", d.ID, d.Consumer)
	}
	if _, ok := q.NextFor(10); ok {
		t.Fatal("NextFor a consumer without credit")
	}
	q.SetPrefetch(10, 3)
	if d, ok := q.NextFor(10); !ok || d.Consumer != 10 {
		t.Fatalf("NextFor(10): %v %v", d, ok)
	}
	if err := q.AddConsumer(10, 1); !errors.Is(err, ErrConsumerExists) {
		t.Fatal(err)
	}
	if err := q.AddConsumer(11, 0); !errors.Is(err, ErrBadPrefetch) {
		t.Fatal(err)
	}
	check(t, q)
}

func TestSettleErrors(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 1)
	mustPush(t, q, 1, 4, 0, "a")
	mustPush(t, q, 2, 4, 0, "b")
	mustNext(t, q)
	for name, f := range map[string]func(uint64) error{
		"ack": q.Ack, "term": q.Term, "inprogress": q.InProgress,
		"nak": func(id uint64) error { return q.Nak(id, 0) },
	} {
		if err := f(99); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown id: %v", name, err)
		}
		if err := f(2); !errors.Is(err, ErrNotInFlight) {
			t.Errorf("%s of a ready message: %v", name, err)
		}
	}
	if c, ok := q.Holder(1); !ok || c != 1 {
		t.Fatalf("holder %d %v", c, ok)
	}
	if err := q.Ack(1); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second ack: %v", err)
	}
	if _, err := q.ConsumerGone(7); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	check(t, q)
}

// ConsumerGone puts every message it held back at the head of its level,
// in original order, with the delivery count going up on redelivery.
func TestConsumerGoneRedelivers(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 10)
	for i := 1; i <= 6; i++ {
		mustPushQuiet(t, q, uint64(i), uint8(4+i%2)) // 1,3,5 at 5; 2,4,6 at 4
	}
	for range 4 { // 1,3,5 then 2
		mustNext(t, q)
	}
	q.AddConsumer(2, 10)
	if n, err := q.ConsumerGone(1); err != nil || n != 4 {
		t.Fatalf("gone: %d, %v", n, err)
	}
	check(t, q)
	want := []struct {
		id  uint64
		del uint32
	}{{1, 2}, {3, 2}, {5, 2}, {2, 2}, {4, 1}, {6, 1}}
	for _, w := range want {
		d := mustNext(t, q)
		if d.ID != w.id || d.Deliveries != w.del || d.Consumer != 2 {
			t.Fatalf("delivered %d (deliveries %d) to %d, want %d (%d)", d.ID, d.Deliveries, d.Consumer, w.id, w.del)
		}
	}
	if s := q.Stats(); s.Redelivered != 4 || s.Delivered != 10 || s.Consumers != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAckTimeoutAndInProgress(t *testing.T) {
	cfg := testConfig()
	cfg.AckTimeout = time.Second
	q, clk := newTestQueue(t, cfg)
	q.AddConsumer(1, 2)
	mustPush(t, q, 1, 4, 0, "a")
	mustPush(t, q, 2, 4, 0, "b")
	d1, d2 := mustNext(t, q), mustNext(t, q)
	if next := q.NextDeadline(); next != clk.now+int64(time.Second) {
		t.Fatalf("next deadline %d", next)
	}
	clk.advance(600 * time.Millisecond)
	q.InProgress(d2.ID)
	clk.advance(400 * time.Millisecond)
	next := q.Tick(clk.now) // 1 times out; 2 has 600 ms left
	check(t, q)
	if next != clk.now+int64(600*time.Millisecond) {
		t.Fatalf("Tick returned %d, want %d", next, clk.now+int64(600*time.Millisecond))
	}
	d := mustNext(t, q)
	if d.ID != d1.ID || d.Deliveries != 2 {
		t.Fatalf("redelivered %d (deliveries %d)", d.ID, d.Deliveries)
	}
	if s := q.Stats(); s.AckTimeouts != 1 || s.InFlight != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestNakDelay(t *testing.T) {
	q, clk := newTestQueue(t, testConfig())
	q.AddConsumer(1, 5)
	mustPush(t, q, 1, 4, 0, "a")
	mustPush(t, q, 2, 4, 0, "b")
	mustNext(t, q)
	if err := q.Nak(1, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	check(t, q)
	if s := q.Stats(); s.Delayed != 1 || s.Depth != 2 {
		t.Fatalf("stats %+v", s)
	}
	if d := mustNext(t, q); d.ID != 2 {
		t.Fatalf("delivered %d during the delay", d.ID)
	}
	if _, ok := q.Next(); ok {
		t.Fatal("delivered a delayed message")
	}
	clk.advance(499 * time.Millisecond)
	q.Tick(clk.now)
	if _, ok := q.Next(); ok {
		t.Fatal("delivered before the delay ran out")
	}
	clk.advance(time.Millisecond)
	if next := q.Tick(clk.now); next != 0 {
		t.Fatalf("next deadline %d with no timers", next)
	}
	if d := mustNext(t, q); d.ID != 1 || d.Deliveries != 2 {
		t.Fatalf("after the delay: %d (deliveries %d)", d.ID, d.Deliveries)
	}
	// Nak without delay: back at the head, ahead of later messages.
	mustPush(t, q, 3, 4, 0, "c")
	q.Nak(1, 0)
	if d := mustNext(t, q); d.ID != 1 || d.Deliveries != 3 {
		t.Fatalf("after Nak(0): %d (deliveries %d)", d.ID, d.Deliveries)
	}
}

func TestPurge(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 2)
	for i := 1; i <= 5; i++ {
		mustPushQuiet(t, q, uint64(i), uint8(i))
	}
	d1, d2 := mustNext(t, q), mustNext(t, q)
	q.Nak(d2.ID, time.Second)
	if n := q.Purge(); n != 4 {
		t.Fatalf("purged %d", n)
	}
	check(t, q)
	if s := q.Stats(); s.Depth != 1 || s.Purged != 4 || len(q.Events()) != 0 {
		t.Fatalf("stats %+v", s)
	}
	if err := q.Ack(d1.ID); err != nil {
		t.Fatal(err)
	}
	if q.Depth() != 0 || q.Bytes() != 0 {
		t.Fatal("not empty")
	}
}
