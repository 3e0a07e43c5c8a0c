package bench

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/bus"
)

// DefaultBusReqN is the default number of bus request/reply round trips.
const DefaultBusReqN = 100_000

func init() {
	roles["bus-echo"] = busEcho
}

// BusReqRep measures bus.Conn.Request round trips of Size bytes (default
// 64) through the router to an echo responder in another process:
//
//	requester (this process) -> router -> echo (child) -> router -> requester
//
// p.Procs picks the layout: 2 (default) embeds the router in this, the
// requester's, process; 3 runs it in a process of its own. p.Idle ("spin"
// by default, "yield" or "backoff") is the idle strategy of both clients
// and of the router's loop. Closed loop, or at p.Rate requests a second
// (timeRounds). Round 0 (start-up) is not recorded. Futex calls of
// every process on the path (this one, with the router in it or not, the
// echo, the router's) are counted per round trip.
func BusReqRep(p Params) (*Result, error) {
	n, size := p.n(DefaultBusReqN), p.size(64)
	idle := p.Idle
	if idle == "" {
		idle = "spin"
	}
	procs := p.Procs
	if procs == 0 {
		procs = 2
	}
	name := fmt.Sprintf("bus.reqrep/%dproc/%s", procs, idle)
	if size < 8 || procs < 2 || procs > 3 {
		return nil, fmt.Errorf("bench: %s: size %d or %d processes out of range", name, size, procs)
	}
	h := NewHist()
	var sys uint64
	err := func() error {
		dir, cleanup, err := p.tempDir()
		if err != nil {
			return err
		}
		defer cleanup()
		w := newCrew(dir, p.timeout())
		defer w.kill()
		g := newGuard(p.timeout(), nil)
		if procs == 2 {
			r, err := startRouter(busDir(dir), idle)
			if err != nil {
				return err
			}
			defer r.Close() // after w.finish: the echo's last Flush needs it
		} else {
			if err := w.start("bus-router", childArgs{Idle: idle}, true); err != nil {
				return err
			}
			if _, err := w.await("router", &g); err != nil {
				return err
			}
		}
		if err := w.start("bus-echo", childArgs{N: n, Size: size, Idle: idle}, false); err != nil {
			return err
		}
		if _, err := w.await("echo-0", &g); err != nil {
			return err
		}
		c, err := busConnect(dir, "requester", idle)
		if err != nil {
			return err
		}
		defer c.Close()
		msg := make([]byte, size)
		round := func(i int) error {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			rep, err := c.Request(subjEcho, msg, g.left())
			if err != nil {
				return err
			}
			if len(rep.Data) != size || binary.LittleEndian.Uint64(rep.Data) != uint64(i) {
				return errors.New("wrong answer")
			}
			return nil
		}
		if err := round(0); err != nil {
			return fmt.Errorf("round 0: %w", err)
		}
		if err := w.mark(); err != nil { // start-up done: the timed part begins
			return err
		}
		sys0 := syscalls()
		if err := timeRounds(n, p.Rate, h, realClock, round); err != nil {
			return err
		}
		sys = syscalls() - sys0
		c.Close()
		reps, sysKids, err := w.finish()
		sys += sysKids
		if err == nil && reps[0].Count != int64(n)+1 {
			err = fmt.Errorf("echo answered %d of %d", reps[0].Count, n+1)
		}
		return err
	}()
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := latencyResult(name, h)
	r.Size, r.Rate = size, p.Rate
	r.SyscallsPerOp = float64(sys) / float64(n)
	return r, nil
}

// busEcho answers N+1 requests with their own payload, from its handler
// (on the dispatcher, zero copy in, one copy out).
func busEcho(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	c, err := busConnect(a.Path, "echo", a.Idle,
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { fe.set(err) }))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var count int64
	var w0, k0 uint64
	_, err = c.Subscribe(subjEcho, func(m *bus.Msg) {
		if count == 1 {
			w0, k0 = ipcStats() // futex calls count from round 1
		}
		if err := m.Respond(m.Data); err != nil {
			fe.set(err)
		}
		if count++; count == int64(a.N)+1 {
			fe.finish()
		}
	})
	if err := serve(a, err, c.Flush, "echo-0", fe); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	w, k := ipcStats()
	return &childReport{Count: count, Waits: w - w0, Wakes: k - k0}, nil
}
