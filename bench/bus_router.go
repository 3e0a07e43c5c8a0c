package bench

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/bus"
	"github.com/shmbus/shmbus/router"
)

// The router and client pieces of the bus benchmarks. The bus directory
// (router socket and segment, every connection's segment) is "bus" inside
// the crew's control directory, on tmpfs like every shared file here.

// IdleConnRing is the ring size (in and out) of each idle connection of
// bus.idle: small, since they carry nothing.
const IdleConnRing = 64 << 10

func init() {
	roles["bus-router"] = busRouter
	roles["bus-idle"] = busIdle
}

// cpuTime is the CPU time, user and system, this process has used.
func cpuTime() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// busDir is the bus directory inside a control directory.
func busDir(ctl string) string { return filepath.Join(ctl, "bus") }

// startRouter starts a quiet router on dir with the given loop idle
// strategy.
func startRouter(dir, idle string) (*router.Router, error) {
	r, err := router.New(router.Config{Dir: dir, Idle: idle, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	if err := r.Start(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// busConnect connects a client of the crew's bus that never reconnects:
// a lost router fails the run.
func busConnect(ctl, name, idle string, opts ...bus.Option) (*bus.Conn, error) {
	return bus.Connect(append([]bus.Option{bus.WithDir(busDir(ctl)), bus.WithName(name),
		bus.WithIdleStrategy(idle), bus.WithMaxReconnects(0)}, opts...)...)
}

// busRouter is a router in a process of its own, serving until stop. It
// reports its futex calls from the mark to the stop (both seen within a
// millisecond; the stop comes right after the clients are done, so the
// tail it adds is a few parks at most), and the CPU time of its process
// from the mark (acknowledged with ready-marked) to the end (or the stop,
// when no end came).
func busRouter(a *childArgs) (*childReport, error) {
	r, err := startRouter(busDir(a.Path), a.Idle)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := writeReady(a.Path, "router", ""); err != nil {
		return nil, err
	}
	var w0, k0 uint64
	var cpu0, cpu int64
	g := a.guard()
	var markErr error
	err = waitStop(a.Path, &g, func() {
		w0, k0 = ipcStats()
		cpu0 = cpuTime()
		markErr = writeReady(a.Path, "marked", "")
	}, func() { cpu = cpuTime() - cpu0 })
	err = errors.Join(err, markErr)
	if err != nil {
		return nil, err
	}
	w, k := ipcStats()
	return &childReport{Waits: w - w0, Wakes: k - k0, CPUNs: cpu}, nil
}

// busIdle holds a.Count connections that do nothing (backoff: their
// dispatchers park), until stop. It connects them a few at a time.
func busIdle(a *childArgs) (*childReport, error) {
	conns := make([]*bus.Conn, a.Count)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	errs := make([]error, a.Count)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range min(idleConnectors, a.Count) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < a.Count; i = int(next.Add(1) - 1) {
				c, err := busConnect(a.Path, fmt.Sprintf("idle-%d", i), "backoff", bus.WithRingSize(IdleConnRing, IdleConnRing))
				if err == nil {
					err = c.Flush()
				}
				conns[i], errs[i] = c, err
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("idle connection %d: %w", i, err)
		}
	}
	if err := writeReady(a.Path, "idle", ""); err != nil {
		return nil, err
	}
	g := a.guard()
	if err := waitStop(a.Path, &g, nil, nil); err != nil {
		return nil, err
	}
	return &childReport{Count: int64(len(conns))}, nil
}

// idleConnectors is how many idle connections busIdle sets up at once.
const idleConnectors = 8
