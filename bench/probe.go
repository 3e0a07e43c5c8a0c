package bench

import (
	"fmt"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The cache-line probe: two threads pinned to two CPUs bounce one cache
// line. The initiator stores an odd value, the responder answers with the
// next even value; a round trip is two line transfers. The initiator reads
// the timer once per round trip and records the difference of successive
// reads, so the timer read (~20-40 ns) is inside every sample, as it is
// inside every other latency figure here.
//
// Round 0 is a handshake (it covers thread or process start) and is not
// recorded; rounds 1..N are all recorded.

// probeAbort tells the responder to give up.
const probeAbort = 1 << 63

// line is one cache line's worth of payload with nothing else on its own
// or the adjacent line.
type line struct {
	_ [128]byte
	v atomic.Uint64
	_ [120]byte
}

// DefaultProbeN is the number of round trips of the probe taken around
// every suite result.
const DefaultProbeN = 20000

// Probe bounces a cache line between two pinned threads of this process.
func Probe(p Params) (*Result, error) {
	n := p.n(DefaultProbeN)
	l := new(line)
	h := NewHist()
	a, b, _ := CPUs()
	g := newGuard(p.timeout(), nil)
	errc := make(chan error, 1)
	go func() {
		unpin, _ := Pin(b)
		defer unpin()
		gr := g
		errc <- probeRespond(&l.v, n, &gr)
	}()
	unpin, _ := Pin(a)
	err := probeInitiate(&l.v, n, h, &g)
	unpin()
	if rerr := <-errc; err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("bench: probe: %w", err)
	}
	return latencyResult("probe", h), nil
}

// ProbeProcess is Probe with the responder in a child process and the line
// in a MAP_SHARED file.
func ProbeProcess(p Params) (*Result, error) {
	n := p.n(DefaultProbeN)
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
	c, err := startChild("probe", childArgs{Path: path, N: n, Deadline: deadlineFor(p.timeout())})
	if err != nil {
		return nil, err
	}
	defer c.kill()
	h := NewHist()
	a, _, _ := CPUs()
	g := newGuard(p.timeout(), &c.exited)
	unpin, _ := Pin(a)
	err = probeInitiate(word64(mem, offLine), n, h, &g)
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && rep.Count != int64(n)+1 {
		err = fmt.Errorf("child answered %d rounds, want %d", rep.Count, n+1)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: probe.proc: %w", err)
	}
	return latencyResult("probe.proc", h), nil
}

func init() {
	roles["probe"] = func(a *childArgs) (*childReport, error) {
		mem, err := mapFile(filepath.Clean(a.Path), pageSize, false)
		if err != nil {
			return nil, err
		}
		defer unix.Munmap(mem)
		g := a.guard()
		if err := probeRespond(word64(mem, offLine), a.N, &g); err != nil {
			return nil, err
		}
		return &childReport{Count: int64(a.N) + 1}, nil
	}
}

// probeInitiate runs rounds 0..n, recording rounds 1..n into h.
func probeInitiate(v *atomic.Uint64, n int, h *Hist, g *guard) error {
	var prev int64
	for i := uint64(0); i <= uint64(n); i++ {
		v.Store(2*i + 1)
		want := 2*i + 2
		for spins := 1; v.Load() != want; spins++ {
			if spins%spinCheck == 0 {
				if err := g.check(); err != nil {
					v.Store(probeAbort)
					return err
				}
			}
		}
		t := now()
		if i > 0 {
			h.Record(t - prev)
		}
		prev = t
	}
	return nil
}

// probeRespond answers rounds 0..n.
func probeRespond(v *atomic.Uint64, n int, g *guard) error {
	for i := uint64(0); i <= uint64(n); i++ {
		want := 2*i + 1
		for spins := 1; ; spins++ {
			x := v.Load()
			if x == want {
				break
			}
			if x == probeAbort {
				return ErrPeerExited
			}
			if spins%spinCheck == 0 {
				if err := g.check(); err != nil {
					return err
				}
			}
		}
		v.Store(want + 1)
	}
	return nil
}
