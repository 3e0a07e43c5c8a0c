package bench

import (
	"errors"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/ipc"
)

// The baseline's futex calls go through package ipc's thin wrappers (the
// shared kind: no FUTEX_PRIVATE_FLAG, so a wake reaches a waiter in another
// process), which also count them in ipc.SyscallStats.

// futexWait sleeps while *addr == val, at most timeout. Spurious returns
// (the value had changed, a signal, the timeout) are not errors: the caller
// re-checks the word.
func futexWait(addr *atomic.Uint32, val uint32, timeout time.Duration) error {
	err := ipc.FutexWait((*uint32)(unsafe.Pointer(addr)), val, timeout)
	if errors.Is(err, ipc.ErrTimeout) {
		return nil
	}
	return err
}

// futexWake wakes up to n waiters on addr.
func futexWake(addr *atomic.Uint32, n int) error {
	_, err := ipc.FutexWake((*uint32)(unsafe.Pointer(addr)), n)
	return err
}

// maxPark bounds one futex sleep so deadlines and a dead partner are noticed.
const maxPark = 100 * time.Millisecond

// futexAbort in the shared word tells the partner to give up.
const futexAbort = ^uint32(0)

// futexSide is one end of a futex ping-pong. Both ends share one word w:
// the initiator posts odd values, the responder even ones. A side that is
// about to sleep raises its parked flag first; a side that posts wakes the
// other only if the other's flag is up. Both are sequentially consistent
// atomics (XCHG on amd64), so either the poster sees the flag or the
// sleeper's FUTEX_WAIT sees the new value and returns at once: no wake-up
// is lost.
type futexSide struct {
	w, mine, theirs *atomic.Uint32
	spin            int64 // ns to spin before parking; 0 parks at once
	waits, wakes    uint64
}

func (s *futexSide) post(v uint32) error {
	s.w.Store(v)
	if s.theirs.Load() != 0 {
		s.wakes++
		return futexWake(s.w, 1)
	}
	return nil
}

// await returns once the word holds want.
func (s *futexSide) await(want uint32, g *guard) error {
	if s.spin > 0 {
		start := now()
		for spins := 1; ; spins++ {
			x := s.w.Load()
			if x == want {
				return nil
			}
			if x == futexAbort {
				return ErrPeerExited
			}
			if spins%32 == 0 && now()-start > s.spin {
				break
			}
		}
	}
	for {
		x := s.w.Load()
		if x == want {
			return nil
		}
		if x == futexAbort {
			return ErrPeerExited
		}
		if err := g.check(); err != nil {
			return err
		}
		s.mine.Store(1)
		s.waits++
		err := futexWait(s.w, x, min(g.left(), maxPark))
		s.mine.Store(0)
		if err != nil {
			return err
		}
	}
}

func (s *futexSide) abort() {
	s.w.Store(futexAbort)
	_ = futexWake(s.w, 1)
}
