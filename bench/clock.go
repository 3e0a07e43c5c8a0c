package bench

import (
	"errors"
	"sync/atomic"
	"time"
)

// epoch anchors now(). time.Since on a monotonic Time reads the clock once
// (the vDSO's CLOCK_MONOTONIC), which is the cheapest timer Go offers.
var epoch = time.Now()

// now returns nanoseconds on this process's monotonic clock. Only
// differences taken in one process mean anything.
func now() int64 { return int64(time.Since(epoch)) }

var (
	// ErrDeadline is returned when a bounded loop ran out of time.
	ErrDeadline = errors.New("bench: deadline exceeded")
	// ErrPeerExited is returned when the partner process exited early.
	ErrPeerExited = errors.New("bench: partner process exited")
)

// spinCheck is how many spins pass between deadline checks in spin loops.
const spinCheck = 1 << 12

// guard bounds a loop: a deadline, and optionally a flag set when the
// partner process has exited. Checked from the slow path of spin loops only.
type guard struct {
	deadline int64        // on the now() clock
	dead     *atomic.Bool // nil when there is no partner process
}

func newGuard(d time.Duration, dead *atomic.Bool) guard {
	return guard{deadline: now() + int64(d), dead: dead}
}

// guardUntil builds a guard from a wall-clock deadline (what crosses a
// process boundary).
func guardUntil(wall time.Time) guard {
	return guard{deadline: now() + int64(time.Until(wall))}
}

// check returns an error once the loop must stop. It also yields the CPU
// when both sides share one.
func (g *guard) check() error {
	if g.dead != nil && g.dead.Load() {
		return ErrPeerExited
	}
	if now() > g.deadline {
		return ErrDeadline
	}
	relax()
	return nil
}

// left is the time remaining before the deadline (at least 1 ms, so it can
// be used as a futex or socket timeout).
func (g *guard) left() time.Duration {
	d := time.Duration(g.deadline - now())
	if d < time.Millisecond {
		d = time.Millisecond
	}
	return d
}

func durationNS(ns int64) time.Duration { return time.Duration(ns) }
