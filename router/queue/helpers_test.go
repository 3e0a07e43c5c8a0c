package queue

import (
	"fmt"
	"math/bits"
	"testing"
	"time"
)

// fakeClock is the injected clock of the tests: time moves only when a
// test moves it.
type fakeClock struct{ now int64 }

func (c *fakeClock) Now() int64              { return c.now }
func (c *fakeClock) advance(d time.Duration) { c.now += int64(d) }

// testConfig is small and permissive: Reject, no TTL, no ack timeout.
func testConfig() Config {
	return Config{MaxMsgs: 1000, MaxBytes: 1 << 20}
}

func newTestQueue(t testing.TB, cfg Config) (*Queue, *fakeClock) {
	t.Helper()
	clk := &fakeClock{now: 1_000_000_000}
	q, err := New("test.q", cfg, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return q, clk
}

func mustPush(t testing.TB, q *Queue, id uint64, prio uint8, deadline int64, payload string) {
	t.Helper()
	if err := q.Push(id, prio, deadline, []byte(payload)); err != nil {
		t.Fatalf("push %d: %v", id, err)
	}
	check(t, q)
}

func mustNext(t testing.TB, q *Queue) Delivery {
	t.Helper()
	d, ok := q.Next()
	if !ok {
		t.Fatalf("Next: nothing delivered (stats %+v)", q.Stats())
	}
	check(t, q)
	return d
}

func check(t testing.TB, q *Queue) {
	t.Helper()
	if err := verify(q); err != nil {
		t.Fatal(err)
	}
}

// verify checks every invariant stated on Queue, msg, consumer, dheap and
// bufPool, walking the whole structure (tests only).
func verify(q *Queue) error {
	var ready, delayed, inFlight int
	var bytes int64
	for id, m := range q.byID {
		if m.id != id {
			return fmt.Errorf("byID[%d] holds message %d", id, m.id)
		}
		bytes += int64(len(m.buf))
		inExp := m.hidx[hExpiry] >= 0
		inTim := m.hidx[hTimer] >= 0
		switch m.state {
		case stReady:
			ready++
			if inTim {
				return fmt.Errorf("ready message %d in the timer heap", id)
			}
			if inExp != (m.deadline() != 0) {
				return fmt.Errorf("ready message %d: in expiry heap %v, deadline %d", id, inExp, m.deadline())
			}
		case stDelayed:
			delayed++
			if !inTim || inExp != (m.deadline() != 0) {
				return fmt.Errorf("delayed message %d: timer heap %v, expiry heap %v", id, inTim, inExp)
			}
		case stInFlight:
			inFlight++
			if inExp || inTim != (q.cfg.AckTimeout > 0) {
				return fmt.Errorf("in-flight message %d: timer heap %v, expiry heap %v", id, inTim, inExp)
			}
			if m.cons == nil || q.consumers[m.cons.id] != m.cons {
				return fmt.Errorf("in-flight message %d: holder not registered", id)
			}
		default:
			return fmt.Errorf("held message %d in state %d", id, m.state)
		}
	}
	if ready != q.ready || delayed != q.delayed || inFlight != q.inFlight {
		return fmt.Errorf("counted ready/delayed/inflight %d/%d/%d, fields %d/%d/%d", ready, delayed, inFlight, q.ready, q.delayed, q.inFlight)
	}
	if bytes != q.bytes {
		return fmt.Errorf("payload bytes %d, field %d", bytes, q.bytes)
	}
	if len(q.byID) > q.cfg.MaxMsgs || q.bytes > q.cfg.MaxBytes {
		return fmt.Errorf("over the bounds: %d msgs, %d bytes", len(q.byID), q.bytes)
	}
	n := 0
	for p := range q.levels {
		l := &q.levels[p]
		if err := verifyList(l, func(m *msg) error {
			if m.state != stReady || int(m.prio) != p || q.byID[m.id] != m {
				return fmt.Errorf("level %d holds message %d (state %d, prio %d)", p, m.id, m.state, m.prio)
			}
			return nil
		}); err != nil {
			return fmt.Errorf("level %d: %w", p, err)
		}
		for m := l.head; m != nil && m.next != nil; m = m.next {
			if m.seq >= m.next.seq {
				return fmt.Errorf("level %d not sorted by seq at message %d", p, m.id)
			}
		}
		if (q.mask>>p&1 == 1) != (l.n > 0) {
			return fmt.Errorf("mask %b, level %d has %d", q.mask, p, l.n)
		}
		n += l.n
	}
	if n != ready {
		return fmt.Errorf("%d messages in levels, %d ready", n, ready)
	}
	n = 0
	credit := 0
	for _, c := range q.consumers {
		if err := verifyList(&c.inFlight, func(m *msg) error {
			if m.state != stInFlight || m.cons != c {
				return fmt.Errorf("consumer %d lists message %d held by another", c.id, m.id)
			}
			return nil
		}); err != nil {
			return err
		}
		n += c.inFlight.n
		if c.onCredit != (c.inFlight.n < c.prefetch) {
			return fmt.Errorf("consumer %d: on credit %v with %d of %d", c.id, c.onCredit, c.inFlight.n, c.prefetch)
		}
		if c.onCredit {
			credit++
		}
	}
	if n != inFlight {
		return fmt.Errorf("%d in consumer lists, %d in flight", n, inFlight)
	}
	walked := 0
	var prev *consumer
	for c := q.credit.head; c != nil; c = c.cnext {
		if c.cprev != prev || !c.onCredit || q.consumers[c.id] != c {
			return fmt.Errorf("credit list broken at consumer %d", c.id)
		}
		prev = c
		walked++
	}
	if walked != credit || q.credit.tail != prev {
		return fmt.Errorf("credit list has %d, %d consumers have credit", walked, credit)
	}
	for _, h := range []*dheap{&q.expiry, &q.timers} {
		for i, m := range h.items {
			if int(m.hidx[h.slot]) != i || q.byID[m.id] != m {
				return fmt.Errorf("heap %d: item %d (message %d) has index %d", h.slot, i, m.id, m.hidx[h.slot])
			}
			if i > 0 && m.key[h.slot] < h.items[(i-1)/2].key[h.slot] {
				return fmt.Errorf("heap %d: order broken at %d", h.slot, i)
			}
		}
	}
	var retained int64
	for c, free := range q.pool.free {
		for _, b := range free {
			if cap(b) != 1<<(c+minClassShift) {
				return fmt.Errorf("pool class %d holds a buffer of %d", c, cap(b))
			}
			retained += int64(cap(b))
		}
	}
	if retained != q.pool.retained || retained > q.pool.limit {
		return fmt.Errorf("pool retains %d, field %d, limit %d", retained, q.pool.retained, q.pool.limit)
	}
	for i, a := range q.alerts {
		reached := len(q.byID) >= a.raiseMsgs || q.bytes >= a.raiseBytes
		clearable := len(q.byID) < a.clearMsgs && q.bytes < a.clearBy
		if i < q.alertN && clearable {
			return fmt.Errorf("alert %d%% raised at fill %d%%", a.level, q.Fill())
		}
		if i >= q.alertN && reached {
			return fmt.Errorf("alert %d%% not raised at fill %d%%", a.level, q.Fill())
		}
	}
	if q.mask != 0 && bits.Len16(q.mask) > NumPriorities {
		return fmt.Errorf("mask %b", q.mask)
	}
	return nil
}

func verifyList(l *mlist, each func(*msg) error) error {
	n := 0
	var b int64
	var prev *msg
	for m := l.head; m != nil; m = m.next {
		if m.prev != prev {
			return fmt.Errorf("list broken at message %d", m.id)
		}
		if err := each(m); err != nil {
			return err
		}
		prev = m
		n++
		b += int64(len(m.buf))
	}
	if l.tail != prev || n != l.n || b != l.bytes {
		return fmt.Errorf("list: %d messages %d bytes walked, fields %d %d", n, b, l.n, l.bytes)
	}
	return nil
}
