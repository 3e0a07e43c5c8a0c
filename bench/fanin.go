package bench

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/shmbus/shmbus/bus"
)

// Fan-in (N -> 1) and one-way latency: the publishers are children, the
// subscriber is this process, so it can time and check what arrives.
//
//	bus.pubsub/PtoN/IDLE  P publisher children -> router (child) -> this process
//	nats.pubsub/Pto1      P publisher children -> nats-server (child) -> this process
//	*.oneway              the same with one publisher sending at a fixed rate
//
// Every message carries, little endian:
//
//	[0:8)   its sequence number, per publisher
//	[8:16)  the publisher's index
//	[16:24) paced: the CLOCK_MONOTONIC time it was meant to be sent at
//	        (the intended time, see pace.go); 0 otherwise
//
// Publishers connect, say they are ready, and start together when told
// to go (after the mark, which the router acknowledges).
// The subscriber checks every publisher's sequence (per-publisher order is
// what the router and NATS promise) and, when the messages are paced,
// records each one's latency from its intended send time to its arrival.
// Throughput runs from the go to the last message; the rate is
// aggregate (N times the publishers, over that time).

// DefaultPubs is the number of publishers of a fan-in.
const DefaultPubs = 4

// DefaultOneWayRate is the send rate of a one-way latency run when none
// is given (msgs/s).
const DefaultOneWayRate = 10_000

// minStampSize is the smallest payload that carries the stamp above.
const minStampSize = 24

func init() {
	roles["bus-pub"] = busPub
	roles["nats-pub"] = natsPub
}

// BusFanIn streams N messages from each of p.Pubs (DefaultPubs) publisher
// processes through a router in a process of its own to one subscriber,
// this process (block policy, as in BusPubSub). p.Idle defaults to
// "backoff".
func BusFanIn(p Params) (*Result, error) {
	if p.Idle == "" {
		p.Idle = "backoff"
	}
	if p.Pubs <= 0 {
		p.Pubs = DefaultPubs
	}
	return fanIn(p, fmt.Sprintf("bus.pubsub/%dto1/%s", p.Pubs, p.Idle), true)
}

// NATSFanIn is BusFanIn through a nats-server.
func NATSFanIn(p Params) (*Result, error) {
	if p.Pubs <= 0 {
		p.Pubs = DefaultPubs
	}
	return fanIn(p, fmt.Sprintf("nats.pubsub/%dto1", p.Pubs), false)
}

// collector is the subscriber of a fan-in: it checks each publisher's
// sequence, records paced latencies, and finishes once all have arrived.
// It is called from one goroutine at a time (the bus dispatcher, or the
// nats.go subscription's).
type collector struct {
	fe        *firstErr
	size      int
	want, got int64
	next      []uint64
	lat       *Hist // nil: unpaced
	last      int64 // now() at the last message
	sum       uint64
}

func newCollector(pubs, n, size int, paced bool) *collector {
	c := &collector{fe: newFirstErr(), size: size, want: int64(pubs) * int64(n), next: make([]uint64, pubs)}
	if paced {
		c.lat = NewHist()
	}
	return c
}

// take checks one message's data.
func (c *collector) take(data []byte) {
	var t int64
	if c.lat != nil {
		t = monoNow() // first: the arrival
	}
	if len(data) != c.size {
		c.fe.set(fmt.Errorf("message of %d bytes, want %d", len(data), c.size))
		return
	}
	seq, pub := binary.LittleEndian.Uint64(data), binary.LittleEndian.Uint64(data[8:])
	if pub >= uint64(len(c.next)) || seq != c.next[pub] {
		c.fe.set(fmt.Errorf("publisher %d: message %d out of sequence (dropped?)", pub, seq))
		return
	}
	c.next[pub]++
	if c.lat != nil {
		c.lat.Record(t - int64(binary.LittleEndian.Uint64(data[16:])))
	}
	c.sum ^= touchLines(data)
	if c.got++; c.got == c.want {
		c.last = now()
		c.fe.finish()
	}
}

// fanIn runs p.Pubs publishers of p.N messages each (paced at p.Rate
// when p.Rate > 0) into this process, through a router (onBus) or a
// nats-server. It returns a throughput result, or, paced, a latency one.
func fanIn(p Params, name string, onBus bool) (*Result, error) {
	n, size, pubs := p.n(DefaultPubSubN), p.size(64), max(1, p.Pubs)
	if size < minStampSize || size > MaxStreamSize {
		return nil, fmt.Errorf("bench: %s: size %d out of range (%d .. %d)", name, size, minStampSize, MaxStreamSize)
	}
	coll := newCollector(pubs, n, size, p.Rate > 0)
	var start, routerCPU int64
	var sys uint64
	run := func(w *crew, g *guard, url string, subscribe func() error) error {
		if err := subscribe(); err != nil {
			return err
		}
		role := "nats-pub"
		if onBus {
			role = "bus-pub"
		}
		for i := range pubs {
			a := childArgs{URL: url, N: n, Size: size, Index: i, Idle: p.Idle, Capacity: ringFor(size), Rate: p.Rate}
			if err := w.start(role, a, false); err != nil {
				return err
			}
		}
		for i := range pubs {
			if _, err := w.await("pub-"+strconv.Itoa(i), g); err != nil {
				return err
			}
		}
		mark := w.mark
		if onBus {
			mark = func() error { return w.markRouter(g) }
		}
		if err := mark(); err != nil {
			return err
		}
		sys0 := syscalls()
		start = now()
		if err := w.goAhead(); err != nil {
			return err
		}
		if err := waitCollector(coll, w, g); err != nil {
			return err
		}
		sys = syscalls() - sys0
		if err := w.end(); err != nil {
			return err
		}
		reps, sysKids, err := w.finish()
		sys += sysKids
		for i, r := range reps {
			if err == nil && r.Count != int64(n) {
				err = fmt.Errorf("publisher %d sent %d of %d", i, r.Count, n)
			}
		}
		if err == nil && onBus {
			routerCPU = w.serverReps[0].CPUNs
		}
		return err
	}
	var err error
	if onBus {
		err = withRouter(p, func(w *crew, g *guard, dir string) error {
			c, err := busConnect(dir, "subscriber", p.Idle, bus.WithRingSize(ringFor(size), ringFor(size)),
				bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { coll.fe.set(err) }))
			if err != nil {
				return err
			}
			defer c.Close()
			return run(w, g, "", func() error {
				_, err := c.Subscribe(subjTput, func(m *bus.Msg) { coll.take(m.Data) }, bus.WithBlock(p.timeout()))
				if err != nil {
					return err
				}
				return c.Flush()
			})
		})
	} else {
		err = withNATS(p, func(w *crew, url string, g *guard) error {
			nc, err := natsConnect(url, "subscriber", coll.fe.set)
			if err != nil {
				return err
			}
			defer nc.Close()
			return run(w, g, url, func() error {
				sub, err := nc.Subscribe(subjTput, func(m *nats.Msg) { coll.take(m.Data) })
				if err == nil {
					err = sub.SetPendingLimits(-1, -1)
				}
				if err != nil {
					return err
				}
				return nc.Flush()
			})
		})
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	var r *Result
	if coll.lat != nil {
		r = latencyResult(name, coll.lat)
		r.Size, r.Rate = size, p.Rate
	} else {
		r = throughputResult(name, coll.want, size, durationNS(coll.last-start))
	}
	if onBus {
		r.SyscallsPerOp = float64(sys) / float64(coll.want)
		r.RouterNsPerMsg = float64(routerCPU) / float64(coll.want)
	}
	return r, nil
}

// waitCollector waits until the collector has everything or fails,
// checking the crew now and then.
func waitCollector(coll *collector, w *crew, g *guard) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-coll.fe.done:
			return coll.fe.get()
		case <-t.C:
			if err := w.check(g); err != nil {
				return err
			}
		}
	}
}

// withRouter starts a router child (p.Idle) and runs body with the crew's
// control directory.
func withRouter(p Params, body func(w *crew, g *guard, dir string) error) error {
	dir, cleanup, err := p.tempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	w := newCrew(dir, p.timeout())
	defer w.kill()
	g := newGuard(p.timeout(), nil)
	if err := w.start("bus-router", childArgs{Idle: p.Idle}, true); err != nil {
		return err
	}
	if _, err := w.await("router", &g); err != nil {
		return err
	}
	return body(w, &g, dir)
}

// publishLoop sends a.N messages of a.Size bytes stamped as described
// above, at a.Rate (paced, intended times on CLOCK_MONOTONIC) or as fast
// as it can.
func publishLoop(a *childArgs, publish func(msg []byte) error) error {
	msg := make([]byte, a.Size)
	for i := range msg {
		msg[i] = byte(i)
	}
	binary.LittleEndian.PutUint64(msg[8:], uint64(a.Index))
	var pc *pacer
	if a.Rate > 0 {
		var err error
		if pc, err = newPacer(a.Rate, monoClock); err != nil {
			return err
		}
	}
	for i := 0; i < a.N; i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		if pc != nil {
			binary.LittleEndian.PutUint64(msg[16:], uint64(pc.wait()))
		}
		if err := publish(msg); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	return nil
}

// busPub is a fan-in publisher on the bus.
func busPub(a *childArgs) (*childReport, error) {
	g := a.guard()
	c, err := busConnect(a.Path, "pub-"+strconv.Itoa(a.Index), a.Idle,
		bus.WithPublishTimeout(g.left()), bus.WithRingSize(a.Capacity, a.Capacity))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := c.Flush(); err != nil {
		return nil, err
	}
	if err := writeReady(a.Path, "pub-"+strconv.Itoa(a.Index), ""); err != nil {
		return nil, err
	}
	if err := waitGo(a.Path, &g); err != nil {
		return nil, err
	}
	w0, k0 := ipcStats()
	if err := publishLoop(a, func(msg []byte) error { return c.Publish(subjTput, msg) }); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	w, k := ipcStats()
	return &childReport{Count: int64(a.N), Waits: w - w0, Wakes: k - k0}, nil
}

// natsPub is a fan-in publisher through the nats-server.
func natsPub(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	nc, err := natsConnect(a.URL, "pub-"+strconv.Itoa(a.Index), fe.set)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	if err := nc.Flush(); err != nil {
		return nil, err
	}
	if err := writeReady(a.Path, "pub-"+strconv.Itoa(a.Index), ""); err != nil {
		return nil, err
	}
	g := a.guard()
	if err := waitGo(a.Path, &g); err != nil {
		return nil, err
	}
	if err := publishLoop(a, func(msg []byte) error { return nc.Publish(subjTput, msg) }); err != nil {
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		return nil, err
	}
	if err := fe.get(); err != nil {
		return nil, err
	}
	return &childReport{Count: int64(a.N)}, nil
}
