package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// Send puts data into the queue named queue, with DefaultPriority and no
// deadline, and returns nil only once the router has confirmed that the
// message is in the queue. Otherwise it returns an error wrapping why:
// ErrQueueNotFound, ErrQueueFull, ErrExpired, ErrMaxPayload,
// ErrQueueInvalid (with the router's explanation), ErrBusFull (the ring
// to the router stayed full), ErrTimeout (no confirm within the queue
// timeout, WithQueueTimeout: the message may still be queued),
// ErrUnconfirmed or ErrConnectionClosed.
//
// Send waits for the router: one round trip per message. For throughput
// use SendAsync, which returns as soon as the message is in the ring. Do
// not call Send from a handler of the same Conn: the confirm is read by
// the dispatcher that runs the handler.
//
// Waiting allocates nothing: waiters (with their channel and timer) are
// kept for reuse in a table keyed by message id.
func (c *Conn) Send(queue string, data []byte) error {
	return c.sendWait(nil, queue, "", nil, data, DefaultPriority, 0)
}

// SendMsg is Send of m: m.Topic names the queue; m.Header, m.Data,
// m.Priority, m.TTL and m.Deadline are sent (m.Reply too: where a consumer
// may Respond).
func (c *Conn) SendMsg(m *Msg) error {
	prio, deadline, err := m.sendParams()
	if err != nil {
		return err
	}
	return c.sendWait(nil, m.Topic, m.Reply, m.Header, m.Data, prio, deadline)
}

// SendWithContext is Send bounded by ctx instead of the queue timeout; a
// passed deadline is reported as ErrTimeout (wrapping ctx.Err()).
func (c *Conn) SendWithContext(ctx context.Context, queue string, data []byte) error {
	return c.sendWait(ctx, queue, "", nil, data, DefaultPriority, 0)
}

// SendMsgWithContext is SendMsg bounded by ctx.
func (c *Conn) SendMsgWithContext(ctx context.Context, m *Msg) error {
	prio, deadline, err := m.sendParams()
	if err != nil {
		return err
	}
	return c.sendWait(ctx, m.Topic, m.Reply, m.Header, m.Data, prio, deadline)
}

// SendAsync is SendMsg without waiting: it returns once m is in the ring
// to the router (or an error saying why it is not: then done is never
// called), and done gets the router's verdict later, exactly once: nil when
// the message is queued, else an error as Send returns it. A message in
// the ring when the Conn closes gets ErrConnectionClosed.
//
// done runs on the dispatcher goroutine, between deliveries, in the order
// the confirms arrive: it must be quick and must not block on this Conn
// (Send, Request, Flush from done wait for their timeout). A done made
// once and reused keeps SendAsync free of allocations. To wait until every
// message was confirmed, count them in done (a sync.WaitGroup, say).
func (c *Conn) SendAsync(m *Msg, done func(error)) error {
	if done == nil {
		return fmt.Errorf("shmbus: SendAsync: nil callback: %w", ErrInvalidOption)
	}
	prio, deadline, err := m.sendParams()
	if err != nil {
		return err
	}
	w := c.sends.get()
	w.cb = done
	if err := c.publish(wire.TypeSend, m.Topic, m.Reply, m.Header, m.Data, prio, deadline, w); err != nil {
		w.cb = nil
		c.sends.put(w)
		return err
	}
	return nil
}

// PendingSends returns how many sent messages wait for their confirm.
func (c *Conn) PendingSends() int {
	c.sends.mu.Lock()
	defer c.sends.mu.Unlock()
	return c.sends.n
}

// sendWait writes a TypeSend and waits for its confirm: on ctx when there
// is one (a ctx already done sends nothing), else on the waiter's own timer
// (no allocation).
func (c *Conn) sendWait(ctx context.Context, queue, reply string, h Header, data []byte, prio uint8, deadline int64) error {
	if c.closing.Load() {
		return ErrConnectionClosed
	}
	if ctx != nil && ctx.Err() != nil {
		return fmt.Errorf("shmbus: send to %q: %w", queue, ctxErr(ctx))
	}
	w := c.sends.get()
	if w.ch == nil {
		w.ch = make(chan error, 1)
	}
	if err := c.publish(wire.TypeSend, queue, reply, h, data, prio, deadline, w); err != nil {
		c.sends.put(w)
		return err
	}
	var timeout <-chan time.Time
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	} else {
		if w.timer == nil {
			w.timer = time.NewTimer(c.opts.queueTimeout)
		} else {
			w.timer.Reset(c.opts.queueTimeout)
		}
		timeout = w.timer.C
	}
	var err error
	select {
	case err = <-w.ch:
		c.stopTimer(w)
		c.sends.put(w)
		return err
	case <-timeout:
		err = fmt.Errorf("shmbus: send to %q: no confirm within %v: %w", queue, c.opts.queueTimeout, ErrTimeout)
	case <-done:
		err = fmt.Errorf("shmbus: send to %q: %w", queue, ctxErr(ctx))
	case <-c.closedCh:
		err = ErrConnectionClosed
	}
	c.stopTimer(w)
	if !c.sends.remove(w) {
		// The dispatcher (or the close) took it and is handing over its
		// verdict: that is the answer after all.
		err = <-w.ch
	}
	c.sends.put(w)
	return err
}

func (c *Conn) stopTimer(w *sendWaiter) {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// onConfirm hands a TypeConfirm to the Send waiting for that message id.
// A duplicate (the message is already in the queue: a router that took
// over read the record again) counts as queued.
func (c *Conn) onConfirm(p []byte) {
	f := &c.conf
	if err := wire.DecodeConfirm(p, f); err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable confirm from the router: %w", err))
		return
	}
	w := c.sends.take(f.ID)
	if w == nil {
		return // its Send gave up waiting, or a second confirm after a reconnect
	}
	var err error
	if f.Code != wire.CodeOK && f.Code != wire.CodeDuplicate {
		err = codeErr(f.Code, f.Text)
	}
	c.settleWaiter(w, err)
}

// settleWaiter delivers the verdict of a waiter the caller took from the
// table: to the waiting Send, or to the SendAsync callback (the waiter is
// then recycled here).
func (c *Conn) settleWaiter(w *sendWaiter, err error) {
	if cb := w.cb; cb != nil {
		w.cb = nil
		c.sends.put(w)
		cb(err)
		return
	}
	w.ch <- err // cap 1, and only the taker sends: never blocks
}

// failSends fails every waiter whose record ends at or before pos (every
// one with notWritten) with err.
func (c *Conn) failSends(pos uint64, err error) {
	for _, w := range c.sends.takeUpTo(pos) {
		c.settleWaiter(w, err)
	}
}

// sweepLost runs after a reconnect: the Sends whose records the old router
// read (they end at or before head, its read position) and did not confirm
// may never be confirmed: the router died between reading and answering.
// What it did answer is in the out ring, before anything the new router
// writes; so a ping written now comes back after all of it, and then
// onSweepPong fails those still waiting with ErrUnconfirmed. Records after
// head are read and confirmed by the new router.
func (c *Conn) sweepLost(head uint64) {
	if !c.sends.waitingUpTo(head) {
		return
	}
	token := c.pingSeq.Add(1)
	c.sends.mu.Lock()
	c.sends.sweepToken, c.sends.sweepPos = token, head
	c.sends.mu.Unlock()
	if err := c.writeU64(wire.TypePing, token); err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: reconnect: could not check for lost confirms: %w", err))
	}
}

// onSweepPong fails the Sends left unconfirmed by a dead router, when
// token is the sweep's ping.
func (c *Conn) onSweepPong(token uint64) {
	c.sends.mu.Lock()
	pos, ok := c.sends.sweepPos, c.sends.sweepToken == token && token != 0
	if ok {
		c.sends.sweepToken = 0
	}
	c.sends.mu.Unlock()
	if ok {
		c.failSends(pos, fmt.Errorf("%w: it may or may not be in the queue", ErrUnconfirmed))
	}
}
