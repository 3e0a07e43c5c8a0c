package bus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// Flush returns once the router has consumed everything this Conn wrote
// before it (publishes, subscribes, unsubscribes): it writes a ping into
// the ring and waits for the router's pong. It waits up to
// DefaultFlushTimeout.
func (c *Conn) Flush() error { return c.FlushTimeout(DefaultFlushTimeout) }

// FlushTimeout is Flush waiting up to timeout (then ErrTimeout).
func (c *Conn) FlushTimeout(timeout time.Duration) error {
	if timeout <= 0 {
		return fmt.Errorf("shmbus: FlushTimeout(%v): must be positive: %w", timeout, ErrInvalidOption)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return c.FlushWithContext(ctx)
}

// FlushWithContext is Flush bounded by ctx; a passed deadline is reported
// as ErrTimeout (wrapping ctx.Err()).
func (c *Conn) FlushWithContext(ctx context.Context) error {
	if c.closing.Load() {
		return ErrConnectionClosed
	}
	token := c.pingSeq.Add(1)
	ch := make(chan struct{})
	c.pingMu.Lock()
	c.pings[token] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, token)
		c.pingMu.Unlock()
	}()
	if err := c.writeU64(wire.TypePing, token); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shmbus: flush: %w", ctxErr(ctx))
	case <-c.closedCh:
		return ErrConnectionClosed
	}
}

// resendPings writes again the pings still waiting for a pong after a
// reconnect: the old router may have consumed them and died before
// answering. A pong that comes twice is ignored.
func (c *Conn) resendPings() {
	c.pingMu.Lock()
	tokens := make([]uint64, 0, len(c.pings))
	for t := range c.pings {
		tokens = append(tokens, t)
	}
	c.pingMu.Unlock()
	for _, t := range tokens {
		if c.writeU64(wire.TypePing, t) != nil {
			return
		}
	}
}

// Drain closes the Conn gracefully: it unsubscribes every subscription at
// the router, waits (a Flush) until the router has confirmed that and
// every message it routed before has been handed over, waits for sync
// subscriptions' buffers to be read with NextMsg, then closes. Publishing
// is allowed until the close. It is bounded by the drain timeout
// (WithDrainTimeout), and unlike nats.go it returns when it is done.
func (c *Conn) Drain() error {
	if c.closing.Load() {
		return ErrConnectionClosed
	}
	if !c.draining.CompareAndSwap(false, true) {
		return nil // another Drain is at work
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.drainTimeout)
	defer cancel()
	var subs []*Subscription
	c.subsMu.RLock()
	for _, s := range c.subs {
		if s.kind != subInbox {
			subs = append(subs, s)
		}
	}
	c.subsMu.RUnlock()
	var errs []error
	for _, s := range subs {
		if err := c.writeU64(wire.TypeUnsub, s.sid); err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := c.FlushWithContext(ctx); err != nil {
		errs = append(errs, fmt.Errorf("shmbus: drain: %w", err))
	}
	for _, s := range subs {
		s.drained.Store(true)
		s.markClosed()
		c.removeSub(s)
	}
	for _, s := range subs {
		for s.kind == subSync && !s.isConsumer() && len(s.ch) > 0 && ctx.Err() == nil && !c.closing.Load() {
			time.Sleep(time.Millisecond)
		}
	}
	if ctx.Err() != nil && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("shmbus: drain: sync subscriptions still hold messages: %w", ctxErr(ctx)))
	}
	c.Close()
	return errors.Join(errs...)
}
