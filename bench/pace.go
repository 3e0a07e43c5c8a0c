package bench

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Two load modes. As fast as possible (rate 0, closed loop): the next
// round trip starts when the last one ends, and a sample is the time
// between successive completions. At a fixed rate (paced, open loop): the
// i-th message is meant to be sent at start + i/rate, and its sample runs
// from that intended time, not from when it was actually sent, to its
// completion (the reply, or its delivery for one-way latency). A stall of
// the system then counts against every message it delays, not just the
// one caught in it, the way wrk2 measures: no coordinated omission.
//
//	intended:  |    |    |    |    |    |    |      (every 1/rate)
//	sent:      |    |    [ stall ]|||    |    |      (late ones go at once)
//	sample:    d    d    S   S-1  S-2 ... d          (from intended, not sent)

// clock is what pacing reads and waits on: the real one (realClock,
// monoClock) or, in tests, a fake one.
type clock struct {
	now   func() int64  // nanoseconds
	until func(t int64) // returns once now() >= t
}

// realClock is this process's monotonic clock (now()).
var realClock = clock{now: now, until: func(t int64) { waitUntil(now, t) }}

// monoClock is CLOCK_MONOTONIC, comparable between processes: what a
// paced publisher stamps its intended send times with, for a subscriber
// in another process to subtract.
var monoClock = clock{now: monoNow, until: func(t int64) { waitUntil(monoNow, t) }}

// monoNow reads CLOCK_MONOTONIC in nanoseconds: the same clock in every
// process of the host (bus.Msg.PubTime uses it too).
func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return ts.Nano()
}

// Sleeping is only precise to about a millisecond here (Go's timers), so
// a pacer sleeps while the next send is far off and then spins, yielding
// the CPU to other processes on every turn (sched_yield returns at once
// when nothing else wants the CPU).
const (
	sleepAbove = 2 * time.Millisecond    // sleep when at least this far off
	sleepSlack = 1500 * time.Microsecond // and wake this much early
)

// waitUntil returns once read() >= t.
func waitUntil(read func() int64, t int64) {
	for {
		d := t - read()
		if d <= 0 {
			return
		}
		if d >= int64(sleepAbove) {
			time.Sleep(time.Duration(d) - sleepSlack)
			continue
		}
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}

// pacer hands out the intended send times of a fixed rate.
type pacer struct {
	clk      clock
	interval int64 // ns between intended sends
	next     int64 // the next intended send time
}

// newPacer starts a schedule of rate msgs/s whose first send is intended
// now.
func newPacer(rate int, clk clock) (*pacer, error) {
	if rate <= 0 || rate > int(time.Second) {
		return nil, fmt.Errorf("bench: rate %d msgs/s out of range (1 .. 1e9)", rate)
	}
	return &pacer{clk: clk, interval: int64(time.Second) / int64(rate), next: clk.now()}, nil
}

// wait waits for the next intended send time and returns it. Behind
// schedule, it returns at once with the (past) intended time: the sender
// catches up, and the lateness counts in every sample taken from it.
func (p *pacer) wait() int64 {
	t := p.next
	p.next += p.interval
	p.clk.until(t)
	return t
}

// timeRounds runs op for rounds 1..n (round 0, the start-up, is the
// caller's) and records one sample per round into h. rate 0: closed loop,
// the time between successive completions (the first measured from the
// call). rate > 0: paced, from each round's intended start to its
// completion.
func timeRounds(n, rate int, h *Hist, clk clock, op func(i int) error) error {
	if rate == 0 {
		prev := clk.now()
		for i := 1; i <= n; i++ {
			if err := op(i); err != nil {
				return fmt.Errorf("round %d: %w", i, err)
			}
			t := clk.now()
			h.Record(t - prev)
			prev = t
		}
		return nil
	}
	p, err := newPacer(rate, clk)
	if err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		intended := p.wait()
		if err := op(i); err != nil {
			return fmt.Errorf("round %d: %w", i, err)
		}
		h.Record(clk.now() - intended)
	}
	return nil
}
