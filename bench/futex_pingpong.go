package bench

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// SpinPark is how long the spin-then-park ping-pong spins before parking.
const SpinPark = 20 * time.Microsecond

// DefaultFutexN is the default number of round trips of the futex
// ping-pongs (a blocking round trip costs ~45 us on the reference VM).
const DefaultFutexN = 20000

// FutexBlock is a ping-pong between two processes in which each side parks
// in FUTEX_WAIT (shared) as soon as it has posted, so every message is a
// wake-up: the reference for a parked consumer's wake-up cost.
func FutexBlock(p Params) (*Result, error) { return futexPingPong("futex.block", p, 0) }

// FutexSpinPark is the same ping-pong where each side spins up to
// SpinPark before parking; with a prompt partner nobody ever parks.
func FutexSpinPark(p Params) (*Result, error) {
	return futexPingPong("futex.spinpark", p, SpinPark)
}

func futexPingPong(name string, p Params, spin time.Duration) (*Result, error) {
	n := p.n(DefaultFutexN)
	dir, cleanup, err := p.tempDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	path, mem, err := newShared(dir)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(mem)
	c, err := startChild("futex", childArgs{Path: path, N: n, Spin: int64(spin), Deadline: deadlineFor(p.timeout())})
	if err != nil {
		return nil, err
	}
	defer c.kill()

	s := futexSide{w: word32(mem, offLine), mine: word32(mem, offFlagA), theirs: word32(mem, offFlagB), spin: int64(spin)}
	h := NewHist()
	g := newGuard(p.timeout(), &c.exited)
	a, _, _ := CPUs()
	unpin, _ := Pin(a)
	err = futexInitiate(&s, n, h, &g)
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && rep.Count != int64(n)+1 {
		err = fmt.Errorf("child answered %d rounds, want %d", rep.Count, n+1)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := latencyResult(name, h)
	r.SyscallsPerOp = float64(s.waits+s.wakes+rep.Waits+rep.Wakes) / float64(n)
	return r, nil
}

// futexInitiate runs rounds 0..n and records rounds 1..n. Round 0 (child
// start-up) is neither timed nor counted in the syscall figures.
func futexInitiate(s *futexSide, n int, h *Hist, g *guard) error {
	var prev int64
	for i := uint32(0); i <= uint32(n); i++ {
		if err := s.post(2*i + 1); err != nil {
			s.abort()
			return err
		}
		if err := s.await(2*i+2, g); err != nil {
			s.abort()
			return err
		}
		t := now()
		if i > 0 {
			h.Record(t - prev)
		} else {
			s.waits, s.wakes = 0, 0
		}
		prev = t
	}
	return nil
}

func init() {
	roles["futex"] = func(a *childArgs) (*childReport, error) {
		mem, err := mapFile(a.Path, pageSize, false)
		if err != nil {
			return nil, err
		}
		defer unix.Munmap(mem)
		s := futexSide{w: word32(mem, offLine), mine: word32(mem, offFlagB), theirs: word32(mem, offFlagA), spin: a.Spin}
		g := a.guard()
		for i := uint32(0); i <= uint32(a.N); i++ {
			if err := s.await(2*i+1, &g); err != nil {
				return nil, err
			}
			if i == 0 {
				s.waits, s.wakes = 0, 0
			}
			if err := s.post(2*i + 2); err != nil {
				return nil, err
			}
		}
		return &childReport{Count: int64(a.N) + 1, Waits: s.waits, Wakes: s.wakes}, nil
	}
}
