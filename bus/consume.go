package bus

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// Consume starts consuming the queue named queue: h gets each delivery on
// the dispatcher goroutine, ZERO COPY like a Subscribe handler (valid until
// h returns; Copy to keep it). At most the prefetch (Prefetch, default
// DefaultPrefetch) of deliveries are unsettled at once; several consumers
// of one queue, in this process or others, share its messages, each
// message going to one of them at a time.
//
// Acknowledgement is explicit: settle each delivery with Ack (done), Nak
// (redeliver, after a delay), Term (never redeliver: dead-letter it) or
// InProgress (still working: restart the ack timeout), in h or later on a
// Copy. A delivery h returns from without settling stays in flight, and
// counts against the prefetch, until it is settled or the queue's ack
// timeout passes; it then comes back, with Msg.Deliveries one higher.
//
// Consume returns once the router has accepted the consumer: it fails with
// ErrQueueNotFound when there is no such queue, with an error wrapping
// ErrBadFilter for a selector that does not compile, and with ErrTimeout
// when the router does not answer within the queue timeout (a router
// restarting, say). Unsubscribe stops consuming (unsettled deliveries go
// back to the queue). After a reconnect the consumer is registered again
// with the new router; if the queue did not survive the router's restart
// the consumer ends (Err, and the error handler: ErrQueueNotFound), and
// the application declares the queue and consumes again. Do not call
// Consume from a handler of the same Conn.
func (c *Conn) Consume(queue string, h MsgHandler, opts ...ConsumeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("shmbus: Consume: nil message handler: %w", ErrInvalidOption)
	}
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.consume(ctx, queue, h, nil, subAsync, opts)
}

// ConsumeWithContext is Consume waiting for the router's acceptance up to
// ctx's end instead of the queue timeout.
func (c *Conn) ConsumeWithContext(ctx context.Context, queue string, h MsgHandler, opts ...ConsumeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("shmbus: Consume: nil message handler: %w", ErrInvalidOption)
	}
	return c.consume(ctx, queue, h, nil, subAsync, opts)
}

// ConsumeSync is Consume for NextMsg: deliveries are owned copies, which
// the caller settles. The buffer holds twice the prefetch.
func (c *Conn) ConsumeSync(queue string, opts ...ConsumeOption) (*Subscription, error) {
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.consume(ctx, queue, nil, nil, subSync, opts)
}

// ChanConsume is Consume delivering owned copies to ch. The dispatcher
// never waits on ch: a delivery that does not fit is naked back to the
// queue at once (counted as dropped), so give ch a buffer of at least the
// prefetch. ch is never closed by the Conn.
func (c *Conn) ChanConsume(queue string, ch chan *Msg, opts ...ConsumeOption) (*Subscription, error) {
	if ch == nil {
		return nil, fmt.Errorf("shmbus: ChanConsume: nil channel: %w", ErrInvalidOption)
	}
	ctx, cancel := c.queueCtx()
	defer cancel()
	return c.consume(ctx, queue, nil, ch, subChan, opts)
}

func (c *Conn) consume(ctx context.Context, queue string, h MsgHandler, ch chan *Msg, kind subKind, opts []ConsumeOption) (*Subscription, error) {
	if err := checkQueueName(queue); err != nil {
		return nil, err
	}
	o := subOptions{prefetch: DefaultPrefetch}
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("shmbus: nil consume option: %w", ErrInvalidOption)
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	o.pendingLimit = 2 * o.prefetch
	if c.draining.Load() {
		return nil, fmt.Errorf("shmbus: connection draining: %w", ErrConnectionClosed)
	}
	s := &Subscription{Consumes: queue, conn: c, kind: kind, cb: h, ch: ch, opts: o, done: make(chan struct{})}
	if kind == subSync {
		s.ch = make(chan *Msg, o.pendingLimit)
	}
	s.starting.Store(true)
	if err := c.addSub(s); err != nil {
		return nil, err
	}
	// A refusal (no such queue, a bad selector) comes as an error frame on
	// the consumer's sid before the pong.
	err := c.FlushWithContext(ctx)
	s.starting.Store(false)
	if err != nil {
		s.Unsubscribe()
		return nil, fmt.Errorf("shmbus: consume %q: the router did not accept the consumer: %w", queue, err)
	}
	if s.isClosed() {
		if s.refusal != nil {
			return nil, s.refusal
		}
		return nil, fmt.Errorf("shmbus: consume %q: %w", queue, ErrBadSubscription)
	}
	return s, nil
}

// Ack settles a queue delivery as done: the queue forgets the message.
// It fails with ErrNotQueued on a message that is not a queue delivery and
// with ErrAlreadySettled after Ack, Nak or Term on the same Msg. Like the
// other settles it is written to the ring and not confirmed: a delivery
// the router no longer holds with this consumer (its ack timeout passed)
// is reported to the error handler as ErrNotHeld.
func (m *Msg) Ack() error { return m.settle(wire.SettleAck, 0) }

// Nak settles a queue delivery as not processed: the queue delivers it
// again (to any consumer) after delay, 0 for at once.
func (m *Msg) Nak(delay time.Duration) error {
	if delay < 0 {
		return fmt.Errorf("shmbus: Nak(%v): negative delay: %w", delay, ErrInvalidOption)
	}
	return m.settle(wire.SettleNak, delay)
}

// Term settles a queue delivery as never to be redelivered: the queue
// dead-letters it (or discards it, without a dead-letter target).
func (m *Msg) Term() error { return m.settle(wire.SettleTerm, 0) }

// InProgress tells the queue that the delivery is still being worked on:
// its ack timeout starts over. It may be called any number of times before
// the delivery is settled.
func (m *Msg) InProgress() error { return m.settle(wire.SettleInProgress, 0) }

func (m *Msg) settle(op uint8, delay time.Duration) error {
	if !m.queued {
		return ErrNotQueued
	}
	if m.conn == nil {
		return ErrConnectionClosed
	}
	final := op != wire.SettleInProgress
	if final {
		if !atomic.CompareAndSwapUint32(&m.settled, 0, 1) {
			return ErrAlreadySettled
		}
	} else if atomic.LoadUint32(&m.settled) != 0 {
		return ErrAlreadySettled
	}
	if err := m.conn.writeSettle(m.sid, m.ID, op, delay); err != nil {
		if final {
			atomic.StoreUint32(&m.settled, 0) // not written: may be tried again
		}
		return err
	}
	return nil
}

// writeSettle writes a TypeSettle record.
func (c *Conn) writeSettle(sid, id uint64, op uint8, delay time.Duration) error {
	buf, err := c.lockedClaim(wire.TypeSettle, wire.SettleSize)
	if err != nil {
		return err
	}
	f := wire.Settle{SID: sid, ID: id, Op: op, Delay: uint64(delay)}
	f.Encode(buf)
	c.prod.Commit()
	c.pmu.Unlock()
	return nil
}

// nakBack gives a queue delivery this client will not hand over (expired
// on arrival, or no room in a sync or channel consumer's buffer) straight
// back to the queue. A failure is only reported: the ack timeout brings
// the delivery back anyway.
func (c *Conn) nakBack(s *Subscription, id uint64) {
	if err := c.writeSettle(s.sid, id, wire.SettleNak, 0); err != nil {
		c.asyncErr(s, fmt.Errorf("shmbus: %s: could not give a delivery back, it returns at its ack timeout: %w", s.subject(), err))
	}
}
