package bench

import (
	"errors"
	"math"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told: waiting until t jumps
// to t, and the fake sender's work advances it.
type fakeClock struct{ t int64 }

func (f *fakeClock) clock() clock {
	return clock{
		now:   func() int64 { return f.t },
		until: func(t int64) { f.t = max(f.t, t) },
	}
}

// stallRun sends 1000 messages at 1000 msgs/s through timeRounds with a
// fake sender that takes 10 us per message, except message 100, which
// stalls 10 ms, and returns the histogram and the samples over 1 ms and
// over 5 ms.
func stallRun(t *testing.T, rate int) (h *Hist, over1ms, over5ms int64) {
	t.Helper()
	fc := &fakeClock{t: 1e9}
	send := func(i int) error {
		if i == 100 {
			fc.t += int64(10 * time.Millisecond)
		} else {
			fc.t += int64(10 * time.Microsecond)
		}
		return nil
	}
	h = NewHist()
	if err := timeRounds(1000, rate, h, fc.clock(), send); err != nil {
		t.Fatal(err)
	}
	return h, countAbove(h, int64(time.Millisecond)), countAbove(h, int64(5*time.Millisecond))
}

// countAbove is how many samples of h exceed ns.
func countAbove(h *Hist, ns int64) int64 {
	var n int64
	for _, b := range h.h.Distribution() {
		if b.From > ns {
			n += b.Count
		}
	}
	return n
}

// TestPacedStallIsNotOmitted is the coordinated-omission check: a sender
// paced at 1000 msgs/s that stalls 10 ms once delays the ~10 messages
// meant to be sent during the stall, and each of them must be charged
// from its intended send time: 10 ms, then 9, 8, ... 1 ms as the backlog
// drains. That is ~10 samples over 1 ms, and the first half of them
// (10, 9, 8, 7, 6 and 5.05 ms) over 5 ms. A closed loop, which times
// each message from the end of the last, sees one slow sample only.
func TestPacedStallIsNotOmitted(t *testing.T) {
	h, over1, over5 := stallRun(t, 1000)
	if h.Count() != 1000 {
		t.Fatalf("%d samples, want 1000", h.Count())
	}
	if over1 < 9 || over1 > 11 {
		t.Errorf("paced: %d samples over 1 ms, want ~10 (the stall and the backlog behind it)", over1)
	}
	if over5 < 5 || over5 > 6 {
		t.Errorf("paced: %d samples over 5 ms, want 5 or 6", over5)
	}
	if s := h.Summary(); s.Max < int64(10*time.Millisecond) || s.P50 > int64(20*time.Microsecond) {
		t.Errorf("paced: max %d (want >= 10 ms, the stall itself), p50 %d (want ~10 us)", s.Max, s.P50)
	}

	h, over1, over5 = stallRun(t, 0)
	if over1 != 1 || over5 != 1 {
		t.Errorf("closed loop: %d samples over 1 ms and %d over 5 ms, want 1 and 1", over1, over5)
	}
	if h.Count() != 1000 {
		t.Fatalf("closed loop: %d samples, want 1000", h.Count())
	}
}

// TestPacerSchedule checks the intended times: evenly spaced from the
// start, never moved by a late sender, and waited for when early.
func TestPacerSchedule(t *testing.T) {
	fc := &fakeClock{t: 5000}
	p, err := newPacer(4000, fc.clock()) // every 250 us
	if err != nil {
		t.Fatal(err)
	}
	for i, late := range []int64{0, 0, 2_000_000, 0, 0} {
		got := p.wait()
		if want := 5000 + int64(i)*250_000; got != want {
			t.Fatalf("send %d intended at %d, want %d", i, got, want)
		}
		if fc.t < got {
			t.Fatalf("send %d: returned at %d, before its time %d", i, fc.t, got)
		}
		fc.t += late // a stall: the next intended times stay where they were
	}
	for _, r := range []int{0, -1, 2e9} {
		if _, err := newPacer(r, fc.clock()); err == nil {
			t.Errorf("rate %d accepted", r)
		}
	}
}

func TestTimeRoundsError(t *testing.T) {
	boom := errors.New("boom")
	err := timeRounds(10, 1000, NewHist(), (&fakeClock{}).clock(), func(i int) error {
		if i == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom wrapped", err)
	}
}

// TestWaitUntilReal waits on the real clocks, briefly.
func TestWaitUntilReal(t *testing.T) {
	for _, c := range []clock{realClock, monoClock} {
		target := c.now() + int64(300*time.Microsecond)
		c.until(target)
		if c.now() < target {
			t.Fatal("returned early")
		}
		target = c.now() + int64(3*time.Millisecond) // sleeps, then spins
		c.until(target)
		if c.now() < target {
			t.Fatal("returned early after sleeping")
		}
	}
}

func TestDistribution(t *testing.T) {
	h := NewHist()
	if h.Distribution() != nil {
		t.Error("empty histogram has a distribution")
	}
	for i := int64(1); i <= 10_000; i++ {
		h.Record(i * 1000)
	}
	d := h.Distribution()
	last := d[len(d)-1]
	if last.Q != 1 || last.NS < 9_990_000 {
		t.Fatalf("last point %+v, want the max", last)
	}
	// 10^x <= 10000: x up to 4 in steps of 0.1, then the max.
	if len(d) != 42 {
		t.Errorf("%d points, want 42", len(d))
	}
	for i := 1; i < len(d); i++ {
		if d[i].Q <= d[i-1].Q || d[i].NS < d[i-1].NS {
			t.Fatalf("not monotonic at %d: %+v then %+v", i, d[i-1], d[i])
		}
	}
	if x := DistX(0.999, 10_000); math.Abs(x-3) > 1e-9 {
		t.Errorf("DistX(p99.9) = %v, want 3", x)
	}
	if x := DistX(1, 10_000); x != 4 {
		t.Errorf("DistX(max) = %v, want log10(count) = 4", x)
	}
	if s := h.Summary(); s.P9999 < s.P999 || s.P9999 > s.Max {
		t.Errorf("p99.99 %d out of order in %v", s.P9999, s)
	}
}
