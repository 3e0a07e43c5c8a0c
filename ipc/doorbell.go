package ipc

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"
	"unsafe"
)

// DoorbellSize is the number of shared bytes a Doorbell occupies.
const DoorbellSize = 8

// Condition is what a waiter waits for, typically "the ring is not empty".
// Ready must read the shared state with atomics (sequentially consistent Go
// atomics; see the Doorbell protocol) and must be cheap: it is called
// around every park.
type Condition interface {
	Ready() bool
}

// Doorbell is a wake-up word pair in shared memory, so a consumer can sleep
// in the kernel until a producer (in any process) rings:
//
//	+0          +4             +8
//	+-----------+--------------+
//	| seq u32   | waiters u32  |
//	+-----------+--------------+
//	seq:     futex word; bumped by every ring that has someone to wake
//	waiters: how many are between announcing and leaving Wait
//
// Any number of goroutines or processes may Wait and Ring concurrently.
// A Doorbell value only holds pointers into the shared bytes, so each
// process makes its own with NewDoorbell on its own mapping. Give it its
// own cache line if producers ring often.
//
// # No lost wake-ups
//
// Wait is: s = load(seq); add(waiters, 1); if Ready() return; futex_wait(seq, s).
// Ring, after the producer published its data with a Go atomic, is:
// if load(waiters) == 0 return; add(seq, 1); futex_wake(seq, all).
//
// This is Dekker's pattern. The waiter stores to waiters and then loads the
// data (in Ready); the ringer stores the data and then loads waiters. Go's
// sync/atomic operations are sequentially consistent, so the two stores and
// two loads fall in one total order, and whichever store comes second is
// followed by a load that sees the first: either Ready sees the data (the
// waiter returns without sleeping) or the ringer sees waiters > 0 and rings
// (or both, which only costs a needless wake). A -race build weakens Go's
// atomics to acquire/release, so there Ring reads waiters with a
// read-modify-write instead (race.go).
// If it rings, it bumps seq after the waiter's load of s (that load precedes
// the waiter's waiters++ which the ringer saw). Then either the bump lands
// before futex_wait checks *seq == s, so futex_wait returns at once (EAGAIN),
// or the waiter is already queued and futex_wake wakes it; the kernel makes
// "compare *seq and enqueue" atomic with respect to futex_wake. Either way
// the waiter gets to re-check Ready. (A lost wake-up would need seq to wrap
// all 2^32 values between the waiter's load and its futex_wait.)
//
// The ringer's fast path, when nobody waits, is one atomic load of a line
// that stays shared in every cache: no store, no syscall.
type Doorbell struct {
	seq     *uint32
	waiters *uint32
}

// NewDoorbell returns a Doorbell over b[0:8], which must be 4-byte aligned
// and live in memory every party maps (normally a Segment's Data). It keeps
// pointers into b; b must stay mapped while the Doorbell is in use.
// Zeroed bytes are a valid, idle doorbell.
func NewDoorbell(b []byte) (*Doorbell, error) {
	if len(b) < DoorbellSize {
		return nil, fmt.Errorf("shmbus: doorbell needs %d bytes, got %d: %w", DoorbellSize, len(b), ErrShortBuffer)
	}
	if p := uintptr(unsafe.Pointer(&b[0])); p%4 != 0 {
		return nil, fmt.Errorf("shmbus: doorbell at %#x is not 4-byte aligned: %w", p, ErrMisaligned)
	}
	return &Doorbell{
		seq:     (*uint32)(unsafe.Pointer(&b[0])),
		waiters: (*uint32)(unsafe.Pointer(&b[4])),
	}, nil
}

// Wait parks the caller until c is ready, the doorbell rings, or timeout
// passes (timeout <= 0: no timeout; use that only where every producer
// rings). It returns c.Ready() as seen at the end. A true result is
// authoritative; a false one may be a timeout or a wake-up meant for another
// waiter, and the caller simply polls again.
func (d *Doorbell) Wait(c Condition, timeout time.Duration) bool {
	s := atomic.LoadUint32(d.seq) // before announcing: see the protocol above
	atomic.AddUint32(d.waiters, 1)
	if c.Ready() {
		atomic.AddUint32(d.waiters, math.MaxUint32) // -1
		return true
	}
	_ = FutexWait(d.seq, s, timeout) // nil, ErrTimeout or a spurious error: all mean "re-check"
	atomic.AddUint32(d.waiters, math.MaxUint32)
	return c.Ready()
}

// Ring wakes every waiter, if there is any. Call it right after publishing
// data with a Go atomic. It reports whether it made the wake syscall. With
// no waiter it costs one atomic load: no store, no syscall.
func (d *Doorbell) Ring() bool {
	if loadWaiters(d.waiters) == 0 { // a plain atomic load; an RMW under -race (race.go)
		return false
	}
	atomic.AddUint32(d.seq, 1)
	_, _ = FutexWake(d.seq, math.MaxInt32) // EFAULT/EINVAL only on a bad address: NewDoorbell checked it
	return true
}

// Waiters returns the number of parties currently inside Wait (a snapshot,
// for diagnostics).
func (d *Doorbell) Waiters() uint32 { return atomic.LoadUint32(d.waiters) }
