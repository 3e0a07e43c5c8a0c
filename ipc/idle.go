package ipc

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Parkable is what an idle strategy may wait on: the consumer's readiness
// test plus the doorbell producers ring after publishing.
// Doorbell may return nil; strategies then sleep instead of parking.
type Parkable interface {
	Condition
	Doorbell() *Doorbell
}

// IdleStrategy decides what a polling loop does when it finds no work:
//
//	for {
//		if n := poll(); n > 0 { idle.Reset(); continue }
//		idle.Idle(p)
//	}
//
// Idle is called after a poll found nothing, Reset after a poll found work.
// Strategies hold per-loop state: give each goroutine its own value (they
// are not safe for concurrent use). Idle and Reset allocate nothing.
type IdleStrategy interface {
	Idle(p Parkable)
	Reset()
}

// DefaultParkTimeout is how long a park lasts at most when nobody rings.
// Parking waits on the doorbell, which wakes the consumer as soon as a
// producer rings, so the timeout is only a safety net (for producers that
// do not ring, or died); it does not bound latency.
const DefaultParkTimeout = 100 * time.Millisecond

// BusySpin burns the CPU: lowest latency, one core per idle consumer.
// Each Idle executes one PAUSE (amd64) or a few empty loop iterations, and
// every SpinYieldEvery-th Idle yields the goroutine and the OS thread once
// (one sched_yield, a few hundred ns). The yield is what keeps a host with
// more spinners than CPUs working: a router and two spinning clients on two
// vCPUs would otherwise leave the one thread that has work waiting for the
// kernel's or Go's preemption tick (milliseconds) behind a spinner that has
// none. With a CPU to itself the yield returns at once and costs about 1%
// of the spinning. Use a pointer (&BusySpin{}): the count is per loop.
type BusySpin struct {
	n uint32 // Idle calls since the last yield
}

// SpinYieldEvery is how many BusySpin idle polls pass between two yields:
// about 10 us of spinning on current x86.
const SpinYieldEvery = 256

// Idle implements IdleStrategy.
func (s *BusySpin) Idle(Parkable) {
	if s.n++; s.n < SpinYieldEvery {
		cpuRelax()
		return
	}
	s.n = 0
	osYield()
}

// Reset implements IdleStrategy.
func (s *BusySpin) Reset() { s.n = 0 }

// Relax executes one PAUSE: a spin-wait hint for loops that must not yield
// (a measurement pinned to its own CPU).
func Relax() { cpuRelax() }

// Yield gives the CPU away on every Idle, at both levels: runtime.Gosched
// lets other goroutines of this process run on this P, then sched_yield(2)
// lets other threads and processes run on this CPU. Gosched alone returns at
// once when this process has nothing else runnable, so on a host with fewer
// CPUs than spinning processes (2 vCPUs, producer + two consumers) the
// producer would only get the CPU at the next scheduler tick; sched_yield
// hands it over now. Latency stays low and the CPU is shared, but the
// consumer still shows as 100% busy and makes one syscall per Idle.
type Yield struct{}

// Idle implements IdleStrategy.
func (Yield) Idle(Parkable) { osYield() }

// Reset implements IdleStrategy.
func (Yield) Reset() {}

// osYield yields the goroutine, then the OS thread. Syscall (not
// RawSyscall) so that if the kernel runs others for a while, the runtime may
// hand this P to another thread.
func osYield() {
	runtime.Gosched()
	_, _, _ = unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
}

// Block parks on the doorbell at once: no CPU while idle, and no syscall on
// the producer while the consumer is busy, but every idle-to-busy transition
// costs a futex wait and a futex wake (a few microseconds).
type Block struct {
	// Timeout bounds each park (safety net). Zero means DefaultParkTimeout.
	Timeout time.Duration
}

// Idle implements IdleStrategy.
func (b *Block) Idle(p Parkable) {
	t := b.Timeout
	if t <= 0 {
		t = DefaultParkTimeout
	}
	park(p, t)
}

// Reset implements IdleStrategy.
func (*Block) Reset() {}

// park waits on p's doorbell for at most t, or sleeps t when it has none.
func park(p Parkable, t time.Duration) {
	if d := p.Doorbell(); d != nil {
		d.Wait(p, t)
		return
	}
	time.Sleep(t)
}
