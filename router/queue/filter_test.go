package queue

import (
	"fmt"
	"testing"
	"time"
)

// even accepts messages whose payload starts with an even byte.
func even(_ uint8, p []byte) bool { return len(p) > 0 && p[0]%2 == 0 }

func pushBytes(t testing.TB, q *Queue, ids ...uint64) {
	t.Helper()
	for _, id := range ids {
		if err := q.Push(id, DefaultPriority, 0, []byte{byte(id)}); err != nil {
			t.Fatalf("push %d: %v", id, err)
		}
	}
	check(t, q)
}

func TestFilterLeavesOthersForOtherConsumers(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 10)
	q.AddConsumer(2, 10)
	if err := q.SetFilter(1, even); err != nil {
		t.Fatal(err)
	}
	if err := q.SetFilter(9, even); err == nil {
		t.Fatal("SetFilter of an unknown consumer")
	}
	pushBytes(t, q, 1, 2, 3, 4, 5, 6)
	var got []uint64
	for d, ok := q.NextFor(1); ok; d, ok = q.NextFor(1) {
		got = append(got, d.ID)
		check(t, q)
	}
	if fmt.Sprint(got) != "[2 4 6]" {
		t.Fatalf("filtered consumer got %v", got)
	}
	got = nil
	for d, ok := q.NextFor(2); ok; d, ok = q.NextFor(2) {
		got = append(got, d.ID)
	}
	if fmt.Sprint(got) != "[1 3 5]" {
		t.Fatalf("unfiltered consumer got %v", got)
	}
	// Next passes over a filtered consumer that takes nothing and keeps
	// its place in the round robin.
	q2, _ := newTestQueue(t, testConfig())
	q2.AddConsumer(1, 10)
	q2.AddConsumer(2, 10)
	q2.SetFilter(1, even)
	pushBytes(t, q2, 1, 3, 2)
	var who []string
	for d, ok := q2.Next(); ok; d, ok = q2.Next() {
		who = append(who, fmt.Sprintf("%d>%d", d.ID, d.Consumer))
	}
	if fmt.Sprint(who) != "[2>1 1>2 3>2]" { // 1 is first in line, takes its first acceptable
		t.Fatalf("Next with a filter: %v", who)
	}
	check(t, q2)
	// Priority order holds across levels for a filtered consumer.
	q3, _ := newTestQueue(t, testConfig())
	q3.AddConsumer(1, 10)
	q3.SetFilter(1, even)
	mustPush(t, q3, 10, 1, 0, "\x02")
	mustPush(t, q3, 11, 7, 0, "\x01")
	mustPush(t, q3, 12, 5, 0, "\x04")
	if d := mustNext(t, q3); d.ID != 12 {
		t.Fatalf("got %d, want the highest accepted priority (12)", d.ID)
	}
}

// A consumer whose filter refuses the first MaxFilterScan ready messages
// gets nothing, even though an acceptable one waits behind them; it gets it
// once others have taken some of those ahead.
func TestFilterScanIsBounded(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 1)
	q.AddConsumer(2, MaxFilterScan)
	q.SetFilter(1, even)
	for i := range MaxFilterScan {
		q.Push(uint64(2*i+1), DefaultPriority, 0, []byte{1}) // odd: refused
	}
	q.Push(1000, DefaultPriority, 0, []byte{2})
	calls := 0
	q.SetFilter(1, func(p uint8, b []byte) bool { calls++; return even(p, b) })
	if _, ok := q.PeekFor(1); ok {
		t.Fatal("PeekFor found a message beyond MaxFilterScan")
	}
	if calls != MaxFilterScan {
		t.Fatalf("filter called %d times, bound %d", calls, MaxFilterScan)
	}
	if _, ok := q.NextFor(1); ok {
		t.Fatal("NextFor found a message beyond MaxFilterScan")
	}
	if d, ok := q.NextFor(2); !ok || d.ID != 1 {
		t.Fatalf("consumer 2: %v %v", d.ID, ok)
	}
	if d, ok := q.NextFor(1); !ok || d.ID != 1000 {
		t.Fatalf("consumer 1 after one taken ahead of it: %d %v", d.ID, ok)
	}
	check(t, q)
}

func TestPeekForAnnouncesNextFor(t *testing.T) {
	cfg := testConfig()
	cfg.DeadLetter = "dlq"
	q, clk := newTestQueue(t, cfg)
	q.AddConsumer(1, 2)
	if _, ok := q.PeekFor(1); ok {
		t.Fatal("PeekFor on an empty queue")
	}
	if _, ok := q.PeekFor(7); ok {
		t.Fatal("PeekFor of an unknown consumer")
	}
	mustPush(t, q, 1, 4, clk.now+int64(time.Second), "expires")
	mustPush(t, q, 2, 4, 0, "bb")
	mustPush(t, q, 3, 4, 0, "ccc")
	clk.advance(time.Second)
	size, ok := q.PeekFor(1)
	if !ok || size != 2 {
		t.Fatalf("PeekFor: %d %v, want 2 (message 1 expired on the way)", size, ok)
	}
	if s := q.Stats(); s.Delivered != 0 || s.Expired != 1 || s.Ready != 2 {
		t.Fatalf("PeekFor delivered or failed to expire: %+v", s)
	}
	if got := events(q); fmt.Sprint(got) != "[dl 1 expired 0 expires]" {
		t.Fatalf("events %v", got)
	}
	check(t, q)
	d, ok := q.NextFor(1)
	if !ok || d.ID != 2 || len(d.Payload) != size {
		t.Fatalf("NextFor after PeekFor: %d %v", d.ID, ok)
	}
	// A push between PeekFor and NextFor that changes the choice is seen.
	if size, ok = q.PeekFor(1); !ok || size != 3 {
		t.Fatalf("PeekFor: %d %v", size, ok)
	}
	mustPush(t, q, 4, 9, 0, "high")
	if d, ok = q.NextFor(1); !ok || d.ID != 4 {
		t.Fatalf("NextFor after a higher push: %d, want 4", d.ID)
	}
	// No credit: nothing announced.
	if _, ok := q.PeekFor(1); ok {
		t.Fatal("PeekFor of a consumer without credit")
	}
	check(t, q)
	// A consumer gone after PeekFor: NextFor finds nothing for it.
	q.AddConsumer(2, 1)
	if _, ok := q.PeekFor(2); !ok {
		t.Fatal("PeekFor for consumer 2")
	}
	q.ConsumerGone(2)
	if _, ok := q.NextFor(2); ok {
		t.Fatal("NextFor of a gone consumer")
	}
	check(t, q)
}

// A consumer with a filter, served by PeekFor+NextFor, allocates nothing
// in the steady state.
func TestFilterAllocs(t *testing.T) {
	q, _ := newTestQueue(t, testConfig())
	q.AddConsumer(1, 4)
	q.SetFilter(1, even)
	payload := []byte{1, 2, 3}
	odd := []byte{3}
	id := uint64(0)
	for range 10 {
		id++
		q.Push(id, 4, 0, odd) // refused by the filter, stays
	}
	cycle := func() {
		id++
		payload[0] = byte(2 * id)
		if err := q.Push(id, 4, 0, payload); err != nil {
			t.Fatal(err)
		}
		if _, ok := q.PeekFor(1); !ok {
			t.Fatal("nothing to peek")
		}
		d, ok := q.NextFor(1)
		if !ok || d.ID != id {
			t.Fatalf("delivered %d %v", d.ID, ok)
		}
		q.Ack(d.ID)
		q.ClearEvents()
	}
	for range 100 {
		cycle()
	}
	if a := testing.AllocsPerRun(1000, cycle); a != 0 {
		t.Errorf("%v allocations per push/peek/next/ack with a filter", a)
	}
}
