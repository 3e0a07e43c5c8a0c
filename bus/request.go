package bus

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

type reqResult struct {
	msg *Msg
	err error
}

// Request publishes data to topic with a reply topic on this connection's
// inbox and waits up to timeout for the first answer (an owned copy). It
// fails with ErrNoResponders when the router finds no subscriber for topic,
// and with ErrTimeout when no answer comes.
//
// Do not call it from a Subscribe handler of the same Conn: the answer is
// delivered by the dispatcher that runs the handler (see the package
// documentation).
func (c *Conn) Request(topic string, data []byte, timeout time.Duration) (*Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.request(ctx, topic, nil, data, DefaultPriority, 0)
}

// RequestWithContext is Request bounded by ctx; a passed deadline is
// reported as ErrTimeout (wrapping ctx.Err()).
func (c *Conn) RequestWithContext(ctx context.Context, topic string, data []byte) (*Msg, error) {
	return c.request(ctx, topic, nil, data, DefaultPriority, 0)
}

// RequestMsg is Request with headers: m.Topic, m.Header, m.Data,
// m.Priority, m.TTL and m.Deadline are sent (m.Reply is replaced by the
// inbox).
func (c *Conn) RequestMsg(m *Msg, timeout time.Duration) (*Msg, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.RequestMsgWithContext(ctx, m)
}

// RequestMsgWithContext is RequestMsg bounded by ctx.
func (c *Conn) RequestMsgWithContext(ctx context.Context, m *Msg) (*Msg, error) {
	prio, deadline, err := m.sendParams()
	if err != nil {
		return nil, err
	}
	return c.request(ctx, m.Topic, m.Header, m.Data, prio, deadline)
}

func (c *Conn) request(ctx context.Context, topic string, h Header, data []byte, prio uint8, deadline int64) (*Msg, error) {
	ib := c.inbox.Load()
	if c.closing.Load() || ib == nil {
		return nil, ErrConnectionClosed
	}
	token := c.reqSeq.Add(1)
	ch := make(chan reqResult, 1)
	c.reqMu.Lock()
	c.reqs[token] = ch
	c.reqMu.Unlock()
	defer func() {
		c.reqMu.Lock()
		delete(c.reqs, token)
		c.reqMu.Unlock()
	}()
	reply := ib.prefix + "." + strconv.FormatUint(token, 10)
	if err := c.publish(wire.TypePub, topic, reply, h, data, prio, deadline, nil); err != nil {
		return nil, err
	}
	r, ok := c.awaitReading(ctx, ch)
	if !ok {
		select {
		case r = <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("shmbus: request to %q: %w", topic, ctxErr(ctx))
		case <-c.closedCh:
			return nil, ErrConnectionClosed
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("shmbus: request to %q: %w", topic, r.err)
	}
	return r.msg, nil
}

// awaitReading waits for the answer on ch by reading the out ring itself,
// with the connection's idle strategy, while the dispatcher steps aside
// (leader/follower): the answer goes from the ring to the caller on one
// goroutine, where a hand-off from the dispatcher would cost a scheduler
// wake-up (microseconds, or a preemption tick when every P is spinning).
// Concurrent Requests take turns reading (readMu); whoever reads dispatches
// every record, other subscriptions' handlers included, in ring order. It
// returns ok=false, to wait on the channel instead, when the context ends,
// the connection closes or the ring reports an error (the dispatcher, back
// in charge, handles it).
func (c *Conn) awaitReading(ctx context.Context, ch chan reqResult) (reqResult, bool) {
	if !c.enterRing() {
		return reqResult{}, false
	}
	defer c.leaveRing()
	w := reqWait{c: c, ch: ch}
	stopRing := context.AfterFunc(ctx, func() {
		w.ended.Store(true)
		if c.enterRing() { // the doorbell is in the mapping
			c.cons.Doorbell().Ring() // a park on the doorbell ends now
			c.leaveRing()
		}
	})
	defer stopRing()
	idle := c.opts.newIdle()
	for {
		select {
		case r := <-ch:
			return r, true
		default:
		}
		if w.ended.Load() || c.stop.Load() {
			return reqResult{}, false
		}
		if !c.readMu.TryLock() {
			runtime.Gosched() // another reader is in a pass
			continue
		}
		if c.stop.Load() {
			c.readMu.Unlock()
			return reqResult{}, false
		}
		n, err := c.readPass()
		c.readMu.Unlock()
		if n > 0 {
			idle.Reset()
			continue
		}
		if err != nil {
			return reqResult{}, false
		}
		idle.Idle(&w)
	}
}

// enterRing counts the caller among the stealers, the goroutines other
// than the dispatcher that may touch the out ring's mapping; it fails once
// the connection stops. cleanup waits for the count to drop to zero before
// unmapping: the caller's add precedes its load of stop and shutdown's
// store of stop precedes cleanup's load of the count (sequentially
// consistent atomics), so either the caller sees stop or cleanup sees it.
func (c *Conn) enterRing() bool {
	c.stealers.Add(1)
	if c.stop.Load() {
		c.leaveRing()
		return false
	}
	return true
}

// leaveRing undoes enterRing; the last to leave wakes the dispatcher.
func (c *Conn) leaveRing() {
	if c.stealers.Add(-1) == 0 {
		select {
		case c.resume <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// reqWait is what a reading Request idles on: its answer arrived (another
// reader dispatched it and rang the doorbell), the ring has records, the
// context ended or the connection is closing.
type reqWait struct {
	c     *Conn
	ch    chan reqResult
	ended atomic.Bool
}

func (w *reqWait) Ready() bool {
	return len(w.ch) > 0 || w.ended.Load() || w.c.stop.Load() || w.c.cons.Ready()
}
func (w *reqWait) Doorbell() *ipc.Doorbell { return w.c.cons.Doorbell() }

// ctxErr reports a context's end, as ErrTimeout when its deadline passed.
func ctxErr(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return err
}
