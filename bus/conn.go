package bus

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// Conn is a connection to the router of one bus directory. It is safe for
// use by many goroutines.
//
// Goroutines: the dispatcher (reads the out ring, runs handlers), the
// watcher (waits for the control socket's EOF, then reconnects) and the
// callback runner (runs connection and error handlers).
//
// Lock order: pmu, then subsMu, pingMu or sends.mu. The dispatcher never
// holds pmu while it delivers (it writes to the ring, to settle a queue
// delivery, as any writer does).
type Conn struct {
	opts    options
	segName string
	seg     *conn.Segment  // unmapped by the dispatcher when it exits
	cons    *ring.Consumer // the out ring; dispatcher only

	// The publishing side. pmu guards the fields up to the blank line; the
	// producer is single-writer, pmu makes it many-goroutine.
	pmu        sync.Mutex
	prod       *ring.Producer
	rseg       *conn.RouterSegment // its doorbell is the one prod rings
	prodClosed bool
	connID     uint64
	seq        uint64 // per-connection message sequence (low 40 bits of Msg.ID)
	hdrBuf     []byte // header scratch, reused

	roomBell    atomic.Pointer[ipc.Doorbell] // the in ring's room doorbell
	roomWaiters sync.WaitGroup               // writers waiting for room without pmu
	maxPayload  atomic.Int64

	subsMu  sync.RWMutex
	subs    map[uint64]*Subscription // by sid, the inbox included
	nextSID atomic.Uint64

	inbox  atomic.Pointer[Subscription] // the reply subscription (kind subInbox)
	reqMu  sync.Mutex
	reqs   map[uint64]chan reqResult // by request token
	reqSeq atomic.Uint64

	pingMu  sync.Mutex
	pings   map[uint64]chan struct{} // by ping token
	pingSeq atomic.Uint64

	ctlMu  sync.Mutex
	ctls   map[uint64]chan ctlResult // queue-management calls by token
	ctlSeq atomic.Uint64
	sends  sendTable // Sends waiting for their confirm, by message id

	mu   sync.Mutex // guards sock
	sock net.Conn

	ctx          context.Context // canceled by Close: aborts dials and handshakes
	cancel       context.CancelFunc
	connected    atomic.Bool
	draining     atomic.Bool
	closing      atomic.Bool
	closedCh     chan struct{} // closed when Close starts
	watchDone    chan struct{}
	dispatchDone chan struct{}
	stop         atomic.Bool   // tells the dispatcher to exit
	busy         atomic.Bool   // the out ring's reader is in a pass (maybe in a handler)
	readMu       sync.Mutex    // held by whoever reads the out ring (dispatcher or a waiting Request)
	stealers     atomic.Int32  // Requests waiting for an answer: the dispatcher steps aside
	resume       chan struct{} // cap 1: wakes the dispatcher when stealers drops to 0
	cb           *callbacks

	dispatcher // state owned by the holder of readMu
	stats      counters
}

// Connect connects to the router of the bus directory (WithDir; default
// ipc.DefaultDir). It creates this connection's segment, hands it to the
// router over the router's socket and starts the dispatcher. It fails with
// ErrNoRouter when no router runs there.
func Connect(opts ...Option) (*Conn, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	c := &Conn{
		opts:         o,
		subs:         make(map[uint64]*Subscription),
		reqs:         make(map[uint64]chan reqResult),
		pings:        make(map[uint64]chan struct{}),
		ctls:         make(map[uint64]chan ctlResult),
		closedCh:     make(chan struct{}),
		watchDone:    make(chan struct{}),
		dispatchDone: make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	w, err := c.attach()
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.initDispatcher()
	c.cb = newCallbacks()
	c.connected.Store(true)
	err = c.applyWelcome(w)
	go c.dispatch()
	go c.watch(c.sock)
	if err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// attach creates the segment, attaches both rings and says Hello.
func (c *Conn) attach() (_ *wire.Welcome, err error) {
	segOpts := []ipc.Option{ipc.WithDir(c.opts.dir)}
	if c.opts.gid >= 0 {
		segOpts = append(segOpts, ipc.WithGroup(c.opts.gid))
	}
	c.segName = fmt.Sprintf("c-%d-%016x", os.Getpid(), rand.Uint64())
	seg, err := conn.Create(c.segName, c.opts.inCap, c.opts.outCap, segOpts...)
	if err != nil {
		return nil, fmt.Errorf("shmbus: connect: %w", err)
	}
	c.seg = seg
	defer func() {
		if err != nil {
			c.closeRings()
			c.seg.Close(true)
		}
	}()
	c.rseg, err = openRouter(c.opts.dir)
	if err != nil {
		return nil, err
	}
	if c.prod, err = ring.NewProducer(seg.In, ring.WithConsumerDoorbell(c.rseg.Bell)); err != nil {
		return nil, fmt.Errorf("shmbus: connect: in ring: %w", err)
	}
	c.roomBell.Store(c.prod.Doorbell())
	if c.cons, err = ring.NewConsumer(seg.Out); err != nil {
		return nil, fmt.Errorf("shmbus: connect: out ring: %w", err)
	}
	sock, w, err := c.handshake(&wire.Hello{Version: wire.ProtocolVersion, Name: c.opts.name, Segment: c.segName})
	if err != nil {
		return nil, err
	}
	c.sock = sock
	return w, nil
}

// closeRings releases what attach attached, whichever it got to.
func (c *Conn) closeRings() {
	if c.prod != nil {
		c.prod.Close()
	}
	if c.cons != nil {
		c.cons.Close()
	}
	if c.rseg != nil {
		c.rseg.Close()
	}
}

func openRouter(dir string) (*conn.RouterSegment, error) {
	rs, err := conn.OpenRouter(wire.RouterName, false, ipc.WithDir(dir))
	if errors.Is(err, ipc.ErrNotFound) {
		return nil, fmt.Errorf("%w in %s (no router segment): %w", ErrNoRouter, dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("shmbus: router segment in %s: %w", dir, err)
	}
	return rs, nil
}

// applyWelcome takes in what the router said: the connection id, the
// payload limit and the reply inbox, subscribing to the inbox when it is
// new. Only Connect and then the watcher call it.
func (c *Conn) applyWelcome(w *wire.Welcome) error {
	c.pmu.Lock()
	c.connID = w.ConnID
	limit := int64(c.prod.MaxPayload() - wire.MsgFixed)
	c.pmu.Unlock()
	if w.MaxPayload > 0 && int64(w.MaxPayload) < limit {
		limit = int64(w.MaxPayload)
	}
	c.maxPayload.Store(limit)
	prefix := w.Inbox
	if prefix == "" {
		prefix = fmt.Sprintf("_INBOX.%d", w.ConnID)
	}
	old := c.inbox.Load()
	if old != nil && old.prefix == prefix {
		return nil
	}
	if err := ValidateTopic(prefix); err != nil {
		return fmt.Errorf("shmbus: router gave inbox %q: %w", prefix, err)
	}
	s := &Subscription{conn: c, Pattern: prefix + ".*", prefix: prefix, kind: subInbox, done: make(chan struct{})}
	if err := c.addSub(s); err != nil {
		return err
	}
	c.inbox.Store(s)
	if old != nil {
		old.markClosed()
		c.removeSub(old)
		return c.writeU64(wire.TypeUnsub, old.sid)
	}
	return nil
}

// Close closes the connection: the router sees the socket's EOF and lets go
// of the rings; pending requests, flushes and NextMsg calls fail with
// ErrConnectionClosed; the connection segment is removed. Handlers already
// running finish; none starts after Close returns, unless Close was called
// while the dispatcher was busy (from a handler, say), in which case the
// dispatcher finishes its pass and stops. Calling Close again does nothing.
func (c *Conn) Close() error { return c.shutdown(fromUser) }

type closer int

const (
	fromUser closer = iota
	fromWatcher
	fromDispatcher
)

// shutdown closes the Conn once; the calls after the first return nil at
// once. It returns the error of removing the segment file.
func (c *Conn) shutdown(from closer) error {
	if !c.closing.CompareAndSwap(false, true) {
		return nil
	}
	c.connected.Store(false)
	close(c.closedCh)
	c.cancel()
	c.mu.Lock()
	if c.sock != nil {
		c.sock.Close()
	}
	c.mu.Unlock()
	if b := c.roomBell.Load(); b != nil {
		b.Ring() // a Publish waiting for room
	}
	c.pmu.Lock()
	if !c.prodClosed {
		c.prod.Close()
		c.prodClosed = true
	}
	c.pmu.Unlock()
	if from != fromWatcher {
		<-c.watchDone
	}
	err := c.seg.Seg.Remove()
	if errors.Is(err, ipc.ErrNotFound) {
		err = nil // someone cleaned up for us
	}
	// Counted as a stealer while it rings: once the dispatcher sees stop it
	// unmaps the ring (cleanup), but not before the stealers are gone.
	c.stealers.Add(1)
	c.stop.Store(true)
	c.cons.Doorbell().Ring()
	c.leaveRing() // wakes a dispatcher stepping aside for a Request
	select {
	case c.resume <- struct{}{}:
	default:
	}
	if from != fromDispatcher && !c.busy.Load() {
		<-c.dispatchDone
	}
	return err
}

// cleanup runs on the dispatcher goroutine as it exits, after shutdown
// closed the producer. Once the last writer waiting for room has left
// (none can start: the producer is closed), nothing touches the mapping.
func (c *Conn) cleanup() {
	c.roomWaiters.Wait()
	// Wait out a Request's pass (readMu is never released: no reader
	// starts on the closed consumer), then for every goroutine that may
	// still touch the mapping to leave (see enterRing); they see stop and
	// leave at once, parked ones too (shutdown rang the doorbell).
	c.readMu.Lock()
	for c.stealers.Load() > 0 {
		time.Sleep(20 * time.Microsecond)
	}
	c.cons.Close()
	c.pmu.Lock()
	rs := c.rseg
	c.rseg = nil
	c.pmu.Unlock()
	if rs != nil {
		rs.Close()
	}
	c.seg.Seg.Close()
	c.subsMu.Lock()
	for _, s := range c.subs {
		s.markClosed()
	}
	c.subsMu.Unlock()
	c.failSends(notWritten, ErrConnectionClosed)
	if h := c.opts.closed; h != nil {
		c.cb.push(func() { h(c) }, false)
	}
	c.cb.close()
	close(c.dispatchDone)
}

// Status is the state of a Conn.
type Status int

// Connection states.
const (
	Connected Status = iota
	Reconnecting
	Draining
	Closed
)

// String returns the state's name.
func (s Status) String() string {
	switch s {
	case Connected:
		return "connected"
	case Reconnecting:
		return "reconnecting"
	case Draining:
		return "draining"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Status returns the connection's state.
func (c *Conn) Status() Status {
	switch {
	case c.closing.Load():
		return Closed
	case !c.connected.Load():
		return Reconnecting
	case c.draining.Load():
		return Draining
	}
	return Connected
}

// IsConnected reports whether the router is there (draining included).
func (c *Conn) IsConnected() bool { return c.connected.Load() && !c.closing.Load() }

// IsReconnecting reports whether the router is gone and the Conn redials.
func (c *Conn) IsReconnecting() bool { return c.Status() == Reconnecting }

// IsClosed reports whether the Conn is closed.
func (c *Conn) IsClosed() bool { return c.closing.Load() }

// IsDraining reports whether Drain is in progress.
func (c *Conn) IsDraining() bool { return c.draining.Load() && !c.closing.Load() }

// ConnID returns the id the router gave this connection.
func (c *Conn) ConnID() uint64 {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.connID
}

// MaxPayload returns the largest message a publish may carry: topic,
// reply, encoded headers and data together (the router's limit, or this
// connection's ring limit if that is smaller).
func (c *Conn) MaxPayload() int { return int(c.maxPayload.Load()) }

// Segment returns the name of this connection's segment file in the bus
// directory (for diagnostics).
func (c *Conn) Segment() string { return c.segName }
