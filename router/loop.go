package router

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
	"github.com/shmbus/shmbus/router/rules"
)

// event is what control goroutines hand the loop.
type event struct {
	add    *client
	added  chan struct{} // closed once add's subscriptions are registered
	remove *client
	dead   bool // the removed client's process is dead: delete its segment
}

// loop is the router's event loop. Everything in it belongs to its goroutine.
type loop struct {
	r         *Router
	subs      *Sublist
	clients   []*client
	match     Result
	evbuf     []event
	idle      ipc.IdleStrategy
	nextSubID uint64
	pending   []stalled // scratch for a publish's blocked subscribers
	dirty     []*client // clients whose out ring has unflushed records
	unrep     []*subscription
	frame     []byte          // scratch for router-made messages
	roomNeed  int             // frame size the current group pick needs
	roomFn    func(*Sub) bool // group pick: room for roomNeed bytes and the selector accepts cur
	selFn     func(*Sub) bool // group pick: the selector accepts cur
	cur       *wire.Msg       // the message being routed (group picks): &curMsg or nil
	curMsg    wire.Msg
	noSubs    uint64       // messages published to no subscriber
	expired   uint64       // messages past their deadline when read
	rout      rules.Output // reused by every Apply
	rframe    []byte       // scratch for frames the rules rewrote
	// Rules counters: messages some rule applied to, actions skipped.
	ruleMatched, ruleSkipped uint64
	stalls                   int
	tick                     int
	lastTick                 time.Time
	stats                    *statsWriter
	rtime                    routeTimer // routetime.go
	qs                       qstate     // point-to-point queues: queues.go
}

func newLoop(r *Router) *loop {
	idle, _ := ipc.NewIdleStrategy(r.cfg.Idle)
	l := &loop{r: r, subs: NewSublist(), idle: idle, rtime: newRouteTimer()}
	l.roomFn = func(s *Sub) bool {
		sub := subOf(s)
		return sub.c.out.Free() >= l.roomNeed+ring.HeaderLength && l.accepts(sub)
	}
	l.selFn = func(s *Sub) bool { return l.accepts(subOf(s)) }
	l.qs.init(r)
	return l
}

func (l *loop) run() {
	l.stats = newStatsWriter(l.r)
	l.lastTick = time.Now()
	for !l.r.stopping.Load() {
		work := 0
		if l.r.eventsIn.Load() {
			work += l.handleEvents()
		}
		for i := 0; i < len(l.clients); i++ {
			c := l.clients[i]
			timed := c.in.Ready() && l.rtime.start()
			n := c.in.ReadWhile(c.handler, 256)
			if timed {
				l.rtime.stop(n)
			}
			work += n
			if err := c.in.Err(); err != nil {
				// Tell the client, then drop it and close its control socket,
				// so that it sees the disconnect rather than a router that
				// silently stopped reading. (A client that reconnects starts
				// clean: its producer's recovery zeroes the garbage at its
				// tail.)
				l.r.cfg.Logger.Error("client ring corrupt: disconnecting", "id", c.id, "name", c.name, "err", err)
				l.tell(c, wire.CodeBadRecord, 0, fmt.Errorf("the ring from this client is corrupt, disconnecting it: %w", err))
				l.remove(c, false)
				i--
				continue
			}
			// Copies first, then the publisher's ring: a router killed in
			// between leaves the records for its successor to read again
			// (subscribers drop the repeats by message id), never lost.
			l.flush()
			c.in.Release()
		}
		if l.qs.busy() {
			work += l.queueWork()
		}
		if l.tick++; l.tick&1023 == 0 || work == 0 {
			l.periodic()
		}
		if work == 0 {
			l.idle.Idle(l)
		} else {
			l.idle.Reset()
		}
	}
}

// Ready reports whether the loop has something to do (ipc.Parkable).
func (l *loop) Ready() bool {
	if l.r.eventsIn.Load() || l.r.stopping.Load() || l.stalls > 0 || len(l.unrep) > 0 || l.qs.fired.Load() {
		return true
	}
	for _, c := range l.clients {
		if c.in.Ready() {
			return true
		}
	}
	return false
}

// Doorbell is the router doorbell every client rings after publishing.
func (l *loop) Doorbell() *ipc.Doorbell { return l.r.rseg.Bell }

func (l *loop) handleEvents() int {
	l.evbuf = l.r.takeEvents(l.evbuf)
	for _, e := range l.evbuf {
		switch {
		case e.add != nil:
			l.add(e.add)
			close(e.added)
		case e.remove != nil && !e.remove.removed:
			l.remove(e.remove, e.dead)
		}
	}
	return len(l.evbuf)
}

func (l *loop) add(c *client) {
	c.handler = func(typ, flags uint16, p []byte) bool { return l.onRecord(c, typ, p) }
	for _, s := range c.initial {
		if s.Queue != "" {
			l.resumeConsumer(c, &s)
			continue
		}
		if err := l.addSub(c, s.SID, s.Pattern, s.Group, s.Selector, s.Policy, time.Duration(s.BlockTimeoutNS)); err != nil {
			l.r.cfg.Logger.Warn("resumed subscription refused", "id", c.id, "sid", s.SID, "err", err)
		}
	}
	c.initial = nil
	l.clients = append(l.clients, c)
}

func (l *loop) remove(c *client, dead bool) {
	l.flush() // nothing may hold c's ring once it is released
	c.removed = true
	for _, s := range c.subs {
		l.dropSub(s)
	}
	l.queuesClientGone(c)
	if c.stall.active {
		c.stall = stall{}
		l.stalls--
	}
	for i, x := range l.clients {
		if x == c {
			l.clients = append(l.clients[:i], l.clients[i+1:]...)
			break
		}
	}
	c.release(dead)
	if c.sock != nil {
		c.sock.Close() // the client sees EOF (it may be gone already)
	}
	l.r.freeID(c.id)
	l.r.cfg.Logger.Info("client gone", "id", c.id, "name", c.name, "dead", dead,
		"msgs_in", c.msgsIn, "msgs_out", c.msgsOut, "dropped", c.dropped)
}

// shutdown detaches every client; their segments stay for the next router.
func (l *loop) shutdown() {
	for _, c := range l.clients {
		c.out.Flush()
		c.in.Release()
		c.release(false)
	}
	l.clients = nil
	l.qs.close()
	if l.stats != nil {
		l.stats.close()
	}
}

// onRecord handles one record from c's ring; false leaves it in the ring.
func (l *loop) onRecord(c *client, typ uint16, p []byte) bool {
	switch typ {
	case wire.TypePub:
		return l.publish(c, p)
	case wire.TypeSub:
		var s wire.Sub
		if err := wire.DecodeSub(p, &s); err != nil {
			l.reject(c, wire.CodeBadRecord, 0, err)
			return true
		}
		if err := l.addSub(c, s.SID, string(s.Pattern), string(s.Group), string(s.Selector), s.Policy, time.Duration(s.BlockTimeout)); err != nil {
			l.reject(c, wire.CodeBadSub, s.SID, err)
		}
	case wire.TypeUnsub:
		sid, err := wire.DecodeU64(p)
		if err != nil {
			l.reject(c, wire.CodeBadRecord, 0, err)
		} else if s := c.subs[sid]; s != nil {
			l.dropSub(s)
		} else if qc := c.qcons[sid]; qc != nil {
			l.stopConsumer(qc)
		}
	case wire.TypePing:
		return l.send(c, wire.TypePong, p)
	case wire.TypeCtl: // queues: ctl.go, qsend.go, qconsume.go
		return l.onCtl(c, p)
	case wire.TypeSend:
		return l.onSend(c, p)
	case wire.TypeConsume:
		l.onConsume(c, p)
	case wire.TypeSettle:
		l.onSettle(c, p)
	default:
		l.reject(c, wire.CodeBadRecord, 0, fmt.Errorf("unknown record type %d", typ))
	}
	return true
}

func (l *loop) addSub(c *client, sid uint64, pattern, group, sel string, policy uint8, block time.Duration) error {
	if _, dup := c.subs[sid]; dup || c.qcons[sid] != nil {
		return fmt.Errorf("subscription id %d already in use", sid)
	}
	if policy > wire.PolicyBlock {
		return fmt.Errorf("subscription %d: unknown policy %d", sid, policy)
	}
	if policy == wire.PolicyBlock && block <= 0 {
		block = l.r.cfg.BlockTimeout // Block with no timeout of its own
	}
	var compiled *selector.Selector
	if sel != "" {
		var err error
		if compiled, err = selector.Compile(sel); err != nil {
			return fmt.Errorf("subscription %d: %w", sid, err)
		}
	}
	l.nextSubID++
	s := &subscription{sid: sid, pattern: pattern, c: c, policy: policy, block: block, sel: compiled}
	s.Sub = Sub{ID: l.nextSubID, Client: uint32(c.id), Group: group}
	if err := l.subs.Insert(pattern, &s.Sub); err != nil {
		return err
	}
	c.subs[sid] = s
	return nil
}

func (l *loop) dropSub(s *subscription) {
	if s.removed {
		return
	}
	s.removed = true
	l.subs.Remove(s.pattern, &s.Sub)
	delete(s.c.subs, s.sid)
}

// reject tells c that one of its records was refused, and counts it.
func (l *loop) reject(c *client, code uint32, sid uint64, err error) {
	c.rejected++
	l.r.cfg.Logger.Warn("record refused", "id", c.id, "name", c.name, "code", code, "err", err)
	l.tell(c, code, sid, err)
}

// tell sends c an error frame, if its ring has room.
func (l *loop) tell(c *client, code uint32, sid uint64, err error) {
	e := wire.ErrFrame{Code: code, SID: sid, Text: []byte(err.Error())}
	if buf, cerr := c.out.Claim(wire.TypeErr, e.Size()); cerr == nil {
		e.Encode(buf)
		l.commit(c)
	}
}

// send writes a small record to c; false when c's ring is full.
func (l *loop) send(c *client, typ uint16, p []byte) bool {
	buf, err := c.out.Claim(typ, len(p))
	if err != nil {
		return !errors.Is(err, ring.ErrFull)
	}
	copy(buf, p)
	l.commit(c)
	return true
}

func (l *loop) commit(c *client) {
	c.out.CommitDeferred()
	if !c.dirty {
		c.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flush publishes every out ring written since the last flush: the cost
// follows the clients written to, not the clients connected.
func (l *loop) flush() {
	for _, c := range l.dirty {
		c.dirty = false
		if !c.removed {
			c.out.Flush()
		}
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
}

// str views b as a string without copying; valid while b is.
func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
