package bus

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// MsgHandler handles messages of a Subscribe or QueueSubscribe. It runs on
// the connection's dispatcher goroutine and the *Msg (Data included) is
// valid only until it returns: see Msg and the package documentation.
type MsgHandler func(*Msg)

type subKind uint8

const (
	subAsync subKind = iota // handler on the dispatcher (zero copy)
	subSync                 // NextMsg (owned copies in a buffered channel)
	subChan                 // the caller's channel (owned copies)
	subInbox                // the connection's reply inbox (internal)
)

// Subscription is one interest in a pattern, plain or in a queue group,
// or a consumer of a queue (Consume).
type Subscription struct {
	Pattern string // what it matches: a topic, or one with '*' and '>' tokens; "" for a consumer
	Queue   string // the queue group; "" for a plain subscription
	// Consumes is the queue a consumer takes from (Consume); "" for a
	// subscription.
	Consumes string

	conn    *Conn
	sid     uint64
	kind    subKind
	cb      MsgHandler
	ch      chan *Msg
	literal bool   // Pattern has no wildcard: every message's topic is Pattern
	prefix  string // subInbox: the inbox, without the ".*"
	opts    subOptions
	pos     uint64    // in ring position after its TypeSub/TypeConsume record, or notWritten (pmu)
	seen    seqFilter // last sequence delivered per publisher (dispatcher only)

	done      chan struct{} // closed once it is no longer valid
	closeOnce sync.Once
	drained   atomic.Bool
	refusal   error       // why the router ended it (set before done is closed)
	starting  atomic.Bool // Consume waits for the router's verdict

	delivered     atomic.Uint64
	localDropped  atomic.Uint64
	routerDropped atomic.Uint64
	expired       atomic.Uint64
	slow          atomic.Bool // drops not yet reported to NextMsg
}

// Subscribe subscribes to pattern; cb gets each matching message on the
// dispatcher goroutine, ZERO COPY (valid only until cb returns; msg.Copy()
// to keep it). The subscription is in the ring before anything this Conn
// publishes afterwards, so a message the Conn publishes next to a matching
// topic is delivered to it.
func (c *Conn) Subscribe(pattern string, cb MsgHandler, opts ...SubOption) (*Subscription, error) {
	return c.subscribe(pattern, "", cb, nil, subAsync, opts)
}

// QueueSubscribe is Subscribe as a member of queue group queue: each
// message goes to one member of the group.
func (c *Conn) QueueSubscribe(pattern, queue string, cb MsgHandler, opts ...SubOption) (*Subscription, error) {
	if queue == "" {
		return nil, fmt.Errorf("shmbus: QueueSubscribe: empty queue group: %w", ErrBadSubscription)
	}
	return c.subscribe(pattern, queue, cb, nil, subAsync, opts)
}

// SubscribeSync subscribes to pattern for NextMsg. Messages are owned
// copies, buffered up to the pending limit (WithPendingLimit); beyond it
// they are dropped and NextMsg reports ErrSlowConsumer once.
func (c *Conn) SubscribeSync(pattern string, opts ...SubOption) (*Subscription, error) {
	return c.subscribe(pattern, "", nil, nil, subSync, opts)
}

// QueueSubscribeSync is SubscribeSync as a member of queue group queue.
func (c *Conn) QueueSubscribeSync(pattern, queue string, opts ...SubOption) (*Subscription, error) {
	if queue == "" {
		return nil, fmt.Errorf("shmbus: QueueSubscribeSync: empty queue group: %w", ErrBadSubscription)
	}
	return c.subscribe(pattern, queue, nil, nil, subSync, opts)
}

// ChanSubscribe delivers owned copies of matching messages to ch. The
// dispatcher never waits on ch: a message that does not fit its buffer is
// dropped and reported as ErrSlowConsumer to the error handler, so give ch
// a buffer. ch is never closed by the Conn.
func (c *Conn) ChanSubscribe(pattern string, ch chan *Msg, opts ...SubOption) (*Subscription, error) {
	return c.subscribe(pattern, "", nil, ch, subChan, opts)
}

// ChanQueueSubscribe is ChanSubscribe as a member of queue group queue.
func (c *Conn) ChanQueueSubscribe(pattern, queue string, ch chan *Msg, opts ...SubOption) (*Subscription, error) {
	if queue == "" {
		return nil, fmt.Errorf("shmbus: ChanQueueSubscribe: empty queue group: %w", ErrBadSubscription)
	}
	return c.subscribe(pattern, queue, nil, ch, subChan, opts)
}

func (c *Conn) subscribe(pattern, queue string, cb MsgHandler, ch chan *Msg, kind subKind, opts []SubOption) (*Subscription, error) {
	if err := ValidatePattern(pattern); err != nil {
		return nil, err
	}
	if queue != "" {
		if err := ValidateTopic(queue); err != nil {
			return nil, fmt.Errorf("shmbus: queue group: %w", err)
		}
	}
	switch {
	case kind == subAsync && cb == nil:
		return nil, fmt.Errorf("shmbus: nil message handler: %w", ErrInvalidOption)
	case kind == subChan && ch == nil:
		return nil, fmt.Errorf("shmbus: nil channel: %w", ErrInvalidOption)
	}
	so, err := applySubOptions(opts)
	if err != nil {
		return nil, err
	}
	if c.draining.Load() {
		return nil, fmt.Errorf("shmbus: connection draining: %w", ErrConnectionClosed)
	}
	s := &Subscription{
		Pattern: pattern,
		Queue:   queue,
		conn:    c,
		kind:    kind,
		cb:      cb,
		ch:      ch,
		literal: isLiteral(pattern),
		opts:    so,
		done:    make(chan struct{}),
	}
	if kind == subSync {
		s.ch = make(chan *Msg, so.pendingLimit)
	}
	if err := c.addSub(s); err != nil {
		return nil, err
	}
	return s, nil
}

// notWritten is the pos of a subscription whose TypeSub record is not in
// the ring yet: a reconnect leaves it out of its Hello.
const notWritten = math.MaxUint64

// addSub gives s a sid, enters it in the table (before its record is
// written, so the dispatcher knows it before any delivery) and writes its
// TypeSub (TypeConsume for a consumer) record, noting where the record
// ends.
func (c *Conn) addSub(s *Subscription) error {
	s.sid = c.nextSID.Add(1)
	s.pos = notWritten
	spec := s.spec()
	var (
		typ  uint16
		size int
		sub  wire.Sub
		con  wire.Consume
	)
	if s.isConsumer() {
		con = wire.Consume{SID: s.sid, Prefetch: spec.Prefetch, Queue: bytesOf(spec.Queue), Selector: bytesOf(spec.Selector)}
		typ, size = wire.TypeConsume, con.Size()
	} else {
		sub = wire.Sub{
			SID:          s.sid,
			BlockTimeout: spec.BlockTimeoutNS,
			Policy:       spec.Policy,
			Pattern:      bytesOf(s.Pattern),
			Group:        bytesOf(s.Queue),
			Selector:     bytesOf(spec.Selector),
		}
		typ, size = wire.TypeSub, sub.Size()
	}
	c.subsMu.Lock()
	c.subs[s.sid] = s
	c.subsMu.Unlock()
	buf, err := c.lockedClaim(typ, size)
	if err != nil {
		c.removeSub(s)
		return err
	}
	if typ == wire.TypeConsume {
		con.Encode(buf)
	} else {
		sub.Encode(buf)
	}
	c.prod.Commit()
	s.pos = c.prod.Stats().Tail
	c.pmu.Unlock()
	return nil
}

func (c *Conn) removeSub(s *Subscription) {
	c.subsMu.Lock()
	delete(c.subs, s.sid)
	c.subsMu.Unlock()
}

// spec is s as a reconnecting Hello lists it: a consumer with its queue,
// prefetch and selector.
func (s *Subscription) spec() wire.SubSpec {
	if s.isConsumer() {
		return wire.SubSpec{SID: s.sid, Queue: s.Consumes, Prefetch: uint32(s.opts.prefetch), Selector: s.opts.selector}
	}
	return wire.SubSpec{
		SID:            s.sid,
		Pattern:        s.Pattern,
		Group:          s.Queue,
		Policy:         uint8(s.opts.policy),
		BlockTimeoutNS: uint64(s.opts.blockTimeout.Nanoseconds()),
		Selector:       s.opts.selector,
	}
}

func (s *Subscription) isConsumer() bool { return s.Consumes != "" }

// subject names s in messages: its pattern, or the queue it consumes.
func (s *Subscription) subject() string {
	if s.isConsumer() {
		return "queue " + s.Consumes
	}
	return s.Pattern
}

// endedBy records why the router ended s, and ends it.
func (s *Subscription) endedBy(err error) {
	s.closeOnce.Do(func() {
		s.refusal = err
		close(s.done)
	})
}

func (s *Subscription) markClosed() { s.closeOnce.Do(func() { close(s.done) }) }

func (s *Subscription) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// Unsubscribe ends the subscription. Messages already on their way are
// discarded; Drain lets them arrive first. A consumer stops consuming: its
// unsettled deliveries go back to the queue, for other consumers.
func (s *Subscription) Unsubscribe() error {
	if s.isClosed() {
		return ErrBadSubscription
	}
	s.markClosed()
	s.conn.removeSub(s)
	return s.conn.writeU64(wire.TypeUnsub, s.sid)
}

// Drain unsubscribes but first lets every message the router routed to
// the subscription arrive: it returns once the router has confirmed the
// unsubscribe (a Flush) and those messages were handed over. A sync
// subscription's buffered messages stay readable with NextMsg. A consumer
// is different: stopping it gives its unsettled deliveries back to the
// queue, so Drain of a consumer is Unsubscribe and a Flush; settle what
// is in hand first.
func (s *Subscription) Drain() error {
	c := s.conn
	if s.isClosed() {
		return ErrBadSubscription
	}
	if err := c.writeU64(wire.TypeUnsub, s.sid); err != nil {
		return err
	}
	err := c.FlushTimeout(c.opts.drainTimeout)
	s.drained.Store(true)
	s.markClosed()
	c.removeSub(s)
	return err
}

// IsValid reports whether the subscription still receives messages.
func (s *Subscription) IsValid() bool { return !s.isClosed() && !s.conn.closing.Load() }

// SID returns the subscription's id on this connection.
func (s *Subscription) SID() uint64 { return s.sid }

// Delivered returns how many messages were handed to the subscription.
func (s *Subscription) Delivered() uint64 { return s.delivered.Load() }

// Dropped returns how many messages the subscription lost: dropped by the
// router for a slow consumer (as the router counts them) plus dropped
// locally because the sync or channel buffer was full. Expired messages
// are counted apart (Expired).
func (s *Subscription) Dropped() uint64 { return s.routerDropped.Load() + s.localDropped.Load() }

// Expired returns how many messages reached the subscription after their
// deadline (they waited too long in the ring) and were dropped instead of
// delivered. A consumer naks such a delivery at once, so the queue
// expires it.
func (s *Subscription) Expired() uint64 { return s.expired.Load() }

// Err returns why the router ended the subscription (a refused pattern or
// selector, a missing or deleted queue), or nil.
func (s *Subscription) Err() error {
	if !s.isClosed() {
		return nil
	}
	return s.refusal
}

// Pending returns how many messages wait in a sync or channel
// subscription's buffer.
func (s *Subscription) Pending() int { return len(s.ch) }

// NextMsg returns the next message of a SubscribeSync subscription,
// waiting up to timeout (ErrTimeout). After messages were dropped for lack
// of buffer it returns ErrSlowConsumer once.
func (s *Subscription) NextMsg(timeout time.Duration) (*Msg, error) {
	if m, err, ok := s.nextNow(); ok {
		return m, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case m := <-s.ch:
		return m, nil
	case <-t.C:
		return nil, fmt.Errorf("shmbus: NextMsg on %q after %v: %w", s.subject(), timeout, ErrTimeout)
	case <-s.done:
		return s.nextAfterClose()
	case <-s.conn.closedCh:
		return nil, ErrConnectionClosed
	}
}

// NextMsgWithContext is NextMsg bounded by ctx instead of a timeout; a
// passed deadline is reported as ErrTimeout (wrapping ctx.Err()).
func (s *Subscription) NextMsgWithContext(ctx context.Context) (*Msg, error) {
	if m, err, ok := s.nextNow(); ok {
		return m, err
	}
	select {
	case m := <-s.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctxErr(ctx)
	case <-s.done:
		return s.nextAfterClose()
	case <-s.conn.closedCh:
		return nil, ErrConnectionClosed
	}
}

// nextNow answers NextMsg without waiting when it can: ok is false when
// the caller must wait.
func (s *Subscription) nextNow() (m *Msg, err error, ok bool) {
	switch {
	case s.kind != subSync:
		return nil, fmt.Errorf("shmbus: NextMsg needs a SubscribeSync subscription or a ConsumeSync consumer: %w", ErrBadSubscription), true
	case s.conn.closing.Load():
		return nil, ErrConnectionClosed, true
	case s.isClosed():
		m, err := s.nextAfterClose()
		return m, err, true
	case s.slow.Swap(false):
		return nil, fmt.Errorf("%w: %q dropped messages, its buffer of %d was full", ErrSlowConsumer, s.subject(), cap(s.ch)), true
	}
	select {
	case m := <-s.ch:
		return m, nil, true
	default:
		return nil, nil, false
	}
}

// nextAfterClose: a drained subscription still hands out what it buffered
// (not a consumer: its unsettled deliveries went back to the queue).
func (s *Subscription) nextAfterClose() (*Msg, error) {
	if s.drained.Load() && !s.isConsumer() {
		select {
		case m := <-s.ch:
			return m, nil
		default:
		}
	}
	if s.refusal != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadSubscription, s.refusal)
	}
	return nil, ErrBadSubscription
}
