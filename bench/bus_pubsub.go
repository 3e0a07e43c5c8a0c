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
	return busPubSub(p, fmt.Sprintf("bus.pubsub/1to%d/%s", max(1, p.Subs), idle))
}

// BusIdle is BusPubSub 1 to 1 with p.Conns more connections, idle, held
// by one more process (backoff: they park). It shows what idle clients
// cost the router per message. p.Idle defaults to "backoff".
func BusIdle(p Params) (*Result, error) {
	if p.Idle == "" {
		p.Idle = "backoff"
	}
	p.Subs = 1
	return busPubSub(p, fmt.Sprintf("bus.idle/%d", p.Conns))
}

func busPubSub(p Params, name string) (*Result, error) {
	n, size, k, idle := p.n(DefaultPubSubN), p.size(64), max(1, p.Subs), p.Idle
	if idle == "" {
		idle = "spin"
	}
	if size < 8 {
		return nil, fmt.Errorf("bench: %s: size %d too small", name, size)
	}
	var d int64
	var dropped, sys uint64
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
			if err := w.start("bus-sink", childArgs{N: n, Size: size, Index: i, Idle: idle}, false); err != nil {
				return err
			}
		}
		for i := range k {
			if _, err := w.await("sink-"+strconv.Itoa(i), &g); err != nil {
				return err
			}
		}
		c, err := busConnect(dir, "publisher", idle, bus.WithPublishTimeout(p.timeout()))
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
		if err := w.mark(); err != nil {
			return err
		}
		start, sys0 := now(), syscalls()
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			if err := c.Publish(subjTput, msg); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		for seen := 0; seen < k; {
			m, err := done.NextMsg(10 * time.Millisecond)
			if err == nil {
				x, _ := strconv.ParseUint(string(m.Data), 10, 64)
				dropped += x
				seen++
				continue
			} else if !errors.Is(err, bus.ErrTimeout) {
				return err
			}
			if err := w.check(&g); err != nil {
				return err
			}
		}
		d, sys = now()-start, syscalls()-sys0
		c.Close()
		reps, sysKids, err := w.finish()
		sys += sysKids
		for i, r := range reps {
			if err == nil && r.Count != int64(n) {
				err = fmt.Errorf("sink %d saw %d of %d", i, r.Count, n)
			}
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
	return r, nil
}

// busSink counts N messages in its handler (zero copy: it checks the size
// and sequence number in the ring and reads every cache line of the
// payload), then says so on bench.done with the number of messages the
// router reported dropped.
func busSink(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	c, err := busConnect(a.Path, "sink-"+strconv.Itoa(a.Index), a.Idle,
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { fe.set(err) }))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var seq, sum, w0, k0 uint64
	_, err = c.Subscribe(subjTput, func(m *bus.Msg) {
		if seq == 0 {
			w0, k0 = ipcStats() // futex calls count from the first message
		}
		if len(m.Data) != a.Size || binary.LittleEndian.Uint64(m.Data) != seq {
			fe.set(fmt.Errorf("message %d out of sequence (dropped?)", seq))
			return
		}
		sum ^= touchLines(m.Data)
		if seq++; seq == uint64(a.N) {
			fe.finish()
		}
	}, bus.WithBlock(time.Until(time.Unix(0, a.Deadline))))
	if err := serve(a, err, c.Flush, "sink-"+strconv.Itoa(a.Index), fe); err != nil {
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
	return &childReport{Count: int64(seq), Waits: w - w0, Wakes: k - k0, Note: strconv.FormatUint(sum, 16)}, nil
}
