package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	roles["bus-sink"] = busSink
}

// BusPubSub streams N messages of Size bytes (default 64) from this
// process through a router in a process of its own to p.Subs (default 1)
// sink processes:
//
//	publisher (this process) -> router (child) -> K sinks (children)
//
// Sinks subscribe with the block policy (bus.WithBlock, bounded by the
// run's deadline): the router holds the publisher's ring while a sink's
// ring is full, so nothing is dropped; every sink also fails on any
// slow-consumer report and checks every sequence number, so the figure is
// delivered messages. Time runs from the first Publish until every sink
// has said, with a message on bench.done, that it saw all N. The rate is
// aggregate (N times the sinks, over that time). p.Idle ("spin" by
// default, "yield" or "backoff") is the idle strategy of every client and
// of the router's loop. Futex calls of the publisher, the router and the
// sinks are counted per delivered message.
func BusPubSub(p Params) (*Result, error) {
	idle := p.Idle
	if idle == "" {
		idle = "spin"
	}
	return busPubSub(p, fmt.Sprintf("bus.pubsub/1to%d/%s", max(1, p.Subs), idle), topicPlan{})
}

// BusIdle is BusPubSub 1 to 1 with p.Conns more connections, idle, held
// by one more process (backoff: they park). It shows what idle clients
// cost the router per message. p.Idle defaults to "backoff".
func BusIdle(p Params) (*Result, error) {
	p = backoff1to1(p)
	return busPubSub(p, fmt.Sprintf("bus.idle/%d", p.Conns), topicPlan{})
}

// BusPayload is BusPubSub 1 to 1 (backoff by default) named after its
// payload size; the rings grow with it (ringFor).
func BusPayload(p Params) (*Result, error) {
	p = backoff1to1(p)
	return busPubSub(p, fmt.Sprintf("bus.payload/%d", p.size(64)), topicPlan{})
}

// BusTopics is BusPubSub 1 to 1 (backoff by default) over p.Topics
// distinct topics published round robin, the sink subscribed to all with
// one bench.t.> (topicPlan).
func BusTopics(p Params) (*Result, error) {
	p = backoff1to1(p)
	tp := topicPlan{Topics: max(1, p.Topics)}
	return busPubSub(p, fmt.Sprintf("bus.topics/%d", tp.Topics), tp)
}

// BusWildcards is BusPubSub 1 to 1 (backoff by default) with p.Wild
// wildcard subscriptions in the sink, each matching one of the p.Wild
// topics published round robin (topicPlan): the router's trie holds them
// all and every message matches one.
func BusWildcards(p Params) (*Result, error) {
	p = backoff1to1(p)
	tp := topicPlan{Wild: max(1, p.Wild)}
	return busPubSub(p, fmt.Sprintf("bus.wildcards/%d", tp.Wild), tp)
}

func backoff1to1(p Params) Params {
	if p.Idle == "" {
		p.Idle = "backoff"
	}
	p.Subs = 1
	return p
}

// ringFor is the ring capacity that carries size-byte messages: the
// default, or the power of two whose eighth (the largest record a ring
// takes) holds the message and its envelope. A client gets it for both
// its rings: the router takes from a client no more than the smaller of
// the two carries.
func ringFor(size int) int {
	c := bus.DefaultRingSize
	for c/8 < size+ringSlack {
		c *= 2
	}
	return c
}

// ringSlack is room for a message's envelope (record header, topic).
const ringSlack = 1 << 10

func busPubSub(p Params, name string, tp topicPlan) (*Result, error) {
	n, size, k, idle := p.n(DefaultPubSubN), p.size(64), max(1, p.Subs), p.Idle
	if idle == "" {
		idle = "spin"
	}
	if size < 8 || size > MaxStreamSize {
		return nil, fmt.Errorf("bench: %s: size %d out of range (8 .. %d)", name, size, MaxStreamSize)
	}
	topics, ring := tp.publishTo(n), ringFor(size)
	var d int64
	var dropped, sys uint64
	var routerCPU int64
	err := func() error {
		dir, cleanup, err := p.tempDir()
		if err != nil {
			return err
		}
		defer cleanup()
		w := newCrew(dir, p.timeout())
		defer w.kill()
		g := newGuard(p.timeout(), nil)
		if err := w.start("bus-router", childArgs{Idle: idle}, true); err != nil {
			return err
		}
		if _, err := w.await("router", &g); err != nil {
			return err
		}
		if p.Conns > 0 {
			if err := w.start("bus-idle", childArgs{Count: p.Conns}, true); err != nil {
				return err
			}
			if _, err := w.await("idle", &g); err != nil {
				return err
			}
		}
		for i := range k {
			a := childArgs{N: n, Size: size, Index: i, Idle: idle, Capacity: ring, Topics: tp.Topics, Wild: tp.Wild}
			if err := w.start("bus-sink", a, false); err != nil {
				return err
			}
		}
		for i := range k {
			if _, err := w.await("sink-"+strconv.Itoa(i), &g); err != nil {
				return err
			}
		}
		c, err := busConnect(dir, "publisher", idle, bus.WithPublishTimeout(p.timeout()),
			bus.WithRingSize(ring, ring))
		if err != nil {
			return err
		}
		defer c.Close()
		done, err := c.SubscribeSync(subjDone)
		if err == nil {
			err = c.Flush()
		}
		if err != nil {
			return err
		}
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i)
		}
		if err := w.markRouter(&g); err != nil {
			return err
		}
		start, sys0 := now(), syscalls()
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			if err := c.Publish(topics[i%len(topics)], msg); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		if err := awaitDone(k, func() error {
			m, err := done.NextMsg(10 * time.Millisecond)
			if errors.Is(err, bus.ErrTimeout) {
				return errNothingYet
			}
			if err == nil {
				x, _ := strconv.ParseUint(string(m.Data), 10, 64)
				dropped += x
			}
			return err
		}, w, &g); err != nil {
			return err
		}
		d, sys = now()-start, syscalls()-sys0
		if err := w.end(); err != nil {
			return err
		}
		c.Close()
		reps, sysKids, err := w.finish()
		sys += sysKids
		for i, r := range reps {
			if err == nil && r.Count != int64(n) {
				err = fmt.Errorf("sink %d saw %d of %d", i, r.Count, n)
			}
		}
		if err == nil {
			routerCPU = w.serverReps[0].CPUNs // the router, started first
		}
		return err
	}()
	if err == nil && dropped > 0 {
		err = fmt.Errorf("the router dropped %d messages", dropped)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := throughputResult(name, int64(n)*int64(k), size, durationNS(d))
	r.SyscallsPerOp = float64(sys) / float64(r.Msgs)
	r.RouterNsPerMsg = float64(routerCPU) / float64(r.Msgs)
	return r, nil
}

// busSink counts N messages in its handlers (zero copy: it checks the
// size and sequence number in the ring and reads every cache line of the
// payload) on each of its subscriptions (topicPlan), then says so on
// bench.done with the number of messages the router reported dropped.
func busSink(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	name := "sink-" + strconv.Itoa(a.Index)
	ring := a.Capacity
	if ring == 0 {
		ring = bus.DefaultRingSize
	}
	c, err := busConnect(a.Path, name, a.Idle, bus.WithRingSize(ring, ring),
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { fe.set(err) }))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	pats := planOf(a).patterns()
	chk := newSeqCheck(a.N, a.Size, len(pats))
	var w0, k0 uint64
	for i, pat := range pats {
		_, err = c.Subscribe(pat, func(m *bus.Msg) {
			if chk.seen.Load() == 0 {
				w0, k0 = ipcStats() // futex calls count from the first message
			}
			switch done, err := chk.check(i, m.Data); {
			case err != nil:
				fe.set(err)
			case done:
				fe.finish()
			}
		}, bus.WithBlock(time.Until(time.Unix(0, a.Deadline))))
		if err != nil {
			break
		}
	}
	if err := serve(a, err, c.Flush, name, fe); err != nil {
		return nil, err
	}
	dropped := c.Stats().Dropped
	if err := c.Publish(subjDone, strconv.AppendUint(nil, dropped, 10)); err != nil {
		return nil, err
	}
	if err := c.Flush(); err != nil {
		return nil, err
	}
	w, k := ipcStats()
	return &childReport{Count: chk.seen.Load(), Waits: w - w0, Wakes: k - k0, Note: chk.sum()}, nil
}
