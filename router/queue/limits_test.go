package queue

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// events returns the queue's events as strings and clears them.
func events(q *Queue) []string {
	var s []string
	for _, e := range q.Events() {
		switch e.Kind {
		case EventDeadLetter:
			s = append(s, fmt.Sprintf("dl %d %s %d %s", e.ID, e.Reason, e.Deliveries, e.Payload))
		case EventAlertRaised, EventAlertCleared:
			s = append(s, fmt.Sprintf("%s %d", e.Kind, e.Level))
		default:
			s = append(s, e.Kind.String())
		}
	}
	q.ClearEvents()
	return s
}

func TestTTLExpiresInTheMiddle(t *testing.T) {
	cfg := testConfig()
	cfg.DeadLetter = "dlq"
	q, clk := newTestQueue(t, cfg)
	sec := int64(time.Second)
	mustPush(t, q, 1, 4, 0, "a")
	mustPush(t, q, 2, 4, clk.now+sec, "b") // expires in the middle
	mustPush(t, q, 3, 4, clk.now+5*sec, "c")
	mustPush(t, q, 4, 4, 0, "d")
	if next := q.NextDeadline(); next != clk.now+sec {
		t.Fatalf("next deadline %d", next)
	}
	clk.advance(time.Second)
	if next := q.Tick(clk.now); next != clk.now+4*sec {
		t.Fatalf("Tick returned %d", next)
	}
	check(t, q)
	if got := events(q); fmt.Sprint(got) != "[dl 2 expired 0 b]" {
		t.Fatalf("events %v", got)
	}
	q.AddConsumer(1, 10)
	var ids []uint64
	for d, ok := q.Next(); ok; d, ok = q.Next() {
		ids = append(ids, d.ID)
	}
	if fmt.Sprint(ids) != "[1 3 4]" {
		t.Fatalf("delivered %v", ids)
	}
	if s := q.Stats(); s.Expired != 1 || s.DeadLettered != 1 || s.Depth != 3 {
		t.Fatalf("stats %+v", s)
	}
}

// Next never hands out an expired message, even before Tick has run; the
// queue's DefaultTTL is the deadline when it is earlier.
func TestExpiredNeverDelivered(t *testing.T) {
	cfg := testConfig()
	cfg.DefaultTTL = 2 * time.Second
	q, clk := newTestQueue(t, cfg)
	sec := int64(time.Second)
	mustPush(t, q, 1, 9, clk.now+sec, "a")    // own deadline wins
	mustPush(t, q, 2, 4, clk.now+10*sec, "b") // TTL wins: +2 s
	mustPush(t, q, 3, 0, 0, "c")              // TTL: +2 s
	clk.advance(time.Second)
	mustPush(t, q, 4, 0, 0, "d") // TTL: +3 s from the start
	clk.advance(time.Second)
	q.AddConsumer(1, 10)
	d := mustNext(t, q)
	if d.ID != 4 || d.Deadline != clk.now+sec {
		t.Fatalf("delivered %d (deadline %d)", d.ID, d.Deadline)
	}
	if _, ok := q.Next(); ok {
		t.Fatal("delivered an expired message")
	}
	if s := q.Stats(); s.Expired != 3 || s.Depth != 1 || len(q.Events()) != 0 {
		t.Fatalf("stats %+v (no dead-letter target: no events)", s)
	}
	// In flight it is the consumer's; it expires when it comes back late.
	clk.advance(time.Second)
	q.Nak(4, 0)
	if s := q.Stats(); s.Expired != 4 || s.Depth != 0 {
		t.Fatalf("stats %+v", s)
	}
	check(t, q)
}

func TestExpiredHelper(t *testing.T) {
	if Expired(0, 100) || Expired(101, 100) || !Expired(100, 100) || !Expired(99, 100) {
		t.Fatal("Expired")
	}
	if EffectiveDeadline(0, 10, 0) != 0 || EffectiveDeadline(50, 10, 5) != 15 || EffectiveDeadline(12, 10, 5) != 12 {
		t.Fatal("EffectiveDeadline")
	}
}

func TestOverflowReject(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMsgs, cfg.MaxBytes = 2, 100
	q, _ := newTestQueue(t, cfg)
	mustPush(t, q, 1, 4, 0, "a")
	mustPush(t, q, 2, 4, 0, "b")
	if err := q.Push(3, 9, 0, []byte("c")); err != ErrQueueFull {
		t.Fatalf("push to a full queue: %v", err)
	}
	q.Purge()
	mustPush(t, q, 4, 4, 0, string(make([]byte, 60)))
	if err := q.Push(5, 4, 0, make([]byte, 41)); err != ErrQueueFull {
		t.Fatalf("push past MaxBytes: %v", err)
	}
	if s := q.Stats(); s.Rejected != 2 || s.Depth != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOverflowDropOldest(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMsgs, cfg.Overflow, cfg.DeadLetter = 4, DropOldest, "dlq"
	q, _ := newTestQueue(t, cfg)
	mustPush(t, q, 1, 5, 0, "a")
	mustPush(t, q, 2, 2, 0, "b")
	mustPush(t, q, 3, 2, 0, "c")
	mustPush(t, q, 4, 7, 0, "d")
	mustPush(t, q, 5, 4, 0, "e") // drops 2: the oldest of the lowest level
	mustPush(t, q, 6, 2, 0, "f") // drops 3
	if got := events(q); fmt.Sprint(got) != "[dl 2 overflow 0 b dl 3 overflow 0 c]" {
		t.Fatalf("events %v", got)
	}
	if err := q.Push(7, 3, 0, []byte("g")); err != nil {
		t.Fatal(err) // drops 6 (priority 2)
	}
	// Nothing at or below priority 2 to drop: the new message is refused.
	if err := q.Push(8, 2, 0, []byte("h")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("push that can drop nothing lower: %v", err)
	}
	// In-flight messages are never dropped.
	q.AddConsumer(1, 4)
	for range 4 {
		mustNext(t, q)
	}
	if err := q.Push(9, 9, 0, []byte("i")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("push with everything in flight: %v", err)
	}
	if s := q.Stats(); s.Dropped != 3 || s.Rejected != 2 || s.DeadLettered != 3 || s.Depth != 4 {
		t.Fatalf("stats %+v", s)
	}
	check(t, q)
}

func TestOverflowBlock(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMsgs, cfg.MaxBytes, cfg.Overflow = 10, 10, Block
	q, _ := newTestQueue(t, cfg)
	mustPush(t, q, 1, 4, 0, "12345")
	mustPush(t, q, 2, 4, 0, "12345")
	err := q.Push(3, 4, 0, []byte("123"))
	if !errors.Is(err, ErrWouldBlock) || !errors.Is(err, ErrQueueFull) {
		t.Fatalf("push to a full Block queue: %v", err)
	}
	if q.Fits(3) {
		t.Fatal("Fits on a full queue")
	}
	q.AddConsumer(1, 5)
	mustNext(t, q)
	if got := events(q); len(got) != 0 {
		t.Fatalf("events before room: %v", got)
	}
	q.Ack(1)
	if got := events(q); fmt.Sprint(got) != "[room]" {
		t.Fatalf("events after room: %v", got)
	}
	if !q.Fits(3) {
		t.Fatal("no room after the ack")
	}
	mustPush(t, q, 3, 4, 0, "123")
	q.Refuse()
	if s := q.Stats(); s.Blocked != 1 || s.Rejected != 1 || s.Depth != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAlertsHysteresis(t *testing.T) {
	cfg := testConfig()
	cfg.MaxMsgs, cfg.AlertLevels, cfg.AlertHysteresis = 10, []uint8{50, 80, 100}, 20
	q, _ := newTestQueue(t, cfg)
	q.AddConsumer(1, 100)
	var log []string
	push := func(n int) {
		for range n {
			if err := q.Push(q.seq+1000, 4, 0, []byte("x")); err != nil {
				t.Fatal(err)
			}
			check(t, q)
		}
		log = append(log, fmt.Sprint(q.Depth(), events(q)))
	}
	ack := func(n int) {
		for range n {
			d := mustNext(t, q)
			q.Ack(d.ID)
			check(t, q)
		}
		log = append(log, fmt.Sprint(q.Depth(), events(q)))
	}
	push(4) // 40%
	push(1) // 50%: raised
	ack(1)  // 40%: within the hysteresis
	push(4) // 80%: raised
	push(2) // 100%: raised
	ack(3)  // 70%: 100 cleared (< 80), 80 stays (not < 60)
	ack(2)  // 50%: 80 cleared
	ack(1)  // 40%: 50 stays (not < 30)
	ack(2)  // 20%: 50 cleared
	push(8) // 100%: all three at once
	want := []string{
		"4 []", "5 [alert-raised 50]", "4 []", "8 [alert-raised 80]",
		"10 [alert-raised 100]", "7 [alert-cleared 100]", "5 [alert-cleared 80]",
		"4 []", "2 [alert-cleared 50]",
		"10 [alert-raised 50 alert-raised 80 alert-raised 100]",
	}
	if fmt.Sprint(log) != fmt.Sprint(want) {
		t.Fatalf("alerts:\n%q\nwant\n%q", log, want)
	}
	if s := q.Stats(); s.Alert != 100 || s.Fill != 100 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAlertsOnBytes(t *testing.T) {
	cfg := testConfig()
	cfg.MaxBytes, cfg.AlertLevels, cfg.AlertHysteresis = 1000, []uint8{80}, 10
	q, _ := newTestQueue(t, cfg)
	mustPush(t, q, 1, 4, 0, string(make([]byte, 799)))
	if got := events(q); len(got) != 0 {
		t.Fatal(got)
	}
	mustPush(t, q, 2, 4, 0, "x")
	if got := events(q); fmt.Sprint(got) != "[alert-raised 80]" {
		t.Fatal(got)
	}
}

func TestDeadLetterReasons(t *testing.T) {
	cfg := testConfig()
	cfg.DeadLetter, cfg.MaxDeliveries, cfg.AckTimeout = "dlq", 2, time.Second
	q, clk := newTestQueue(t, cfg)
	q.AddConsumer(1, 10)
	mustPush(t, q, 1, 4, 0, "term-me")
	mustPush(t, q, 2, 4, 0, "nak-me")
	mustPush(t, q, 3, 4, 0, "time-me-out")
	mustPush(t, q, 4, 4, clk.now+int64(500*time.Millisecond), "expire-me")
	d := mustNext(t, q)
	q.Term(d.ID)
	mustNext(t, q)
	q.Nak(2, 0)
	mustNext(t, q) // 2 again (head of its level)
	q.Nak(2, time.Hour)
	d3 := mustNext(t, q)
	if d3.ID != 3 {
		t.Fatalf("delivered %d", d3.ID)
	}
	clk.advance(time.Second) // 4 expires, 3 times out once
	q.Tick(clk.now)
	mustNext(t, q) // 3 again
	clk.advance(time.Second)
	q.Tick(clk.now) // 3 times out a second time: max deliveries
	check(t, q)
	want := "[dl 1 term 1 term-me dl 2 max-deliveries 2 nak-me dl 4 expired 0 expire-me dl 3 max-deliveries 2 time-me-out]"
	if got := events(q); fmt.Sprint(got) != want {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	s := q.Stats()
	if s.Depth != 0 || s.DeadLettered != 4 || s.Termed != 1 || s.MaxedOut != 2 || s.Expired != 1 || s.AckTimeouts != 2 || s.Naked != 2 {
		t.Fatalf("stats %+v", s)
	}
	check(t, q)
}

// A dead letter's payload stays valid until ClearEvents, even while the
// queue goes on taking messages.
func TestDeadLetterPayloadOwnership(t *testing.T) {
	cfg := testConfig()
	cfg.DeadLetter = "dlq"
	q, _ := newTestQueue(t, cfg)
	q.AddConsumer(1, 1)
	mustPush(t, q, 1, 4, 0, "keep me")
	q.Term(mustNext(t, q).ID)
	for i := 2; i < 50; i++ {
		mustPush(t, q, uint64(i), 4, 0, "overwrite")
		q.Ack(mustNext(t, q).ID)
	}
	if ev := q.Events(); len(ev) != 1 || string(ev[0].Payload) != "keep me" || ev[0].Queue != "test.q" || ev[0].Target != "dlq" {
		t.Fatalf("events %+v", ev)
	}
	q.ClearEvents()
	check(t, q)
}
