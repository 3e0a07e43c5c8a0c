package router

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router/queue"
)

// qstate is the event loop's side of the point-to-point queues: the core
// (router/queue) holds the messages; this holds who consumes them, the
// topic bindings, the timers and the work pending. Everything in it belongs
// to the loop goroutine, except fired, which the wake-up timer sets.
//
// Invariants:
//   - queues and reg hold the same names; a deleted rqueue is in neither
//     and has deleted set (held senders and dirty entries check it).
//   - each live qconsumer is in its rqueue's consumers at index idx and in
//     its client's qcons under its sid; a gone one is in neither.
//   - binds holds one binding per (queue, pattern) in reg's bindings;
//     nbinds is their number, so a publish checks bindings only when
//     nbinds > 0.
//   - an rqueue is in timers iff due != 0, and due is its core's
//     NextDeadline as of the last time the loop drained it.
type qstate struct {
	reg     *queue.Registry
	queues  map[string]*rqueue
	binds   *Sublist
	nbinds  int
	bmatch  Result
	pubSeq  uint64 // one per publish pushed to bindings (dedupes queues)
	nextCID queue.ConsumerID

	dirty   []*rqueue    // queues to dispatch and drain, each once (rqueue.dirty)
	waiting []*qconsumer // consumers whose ring had no room (qconsumer.need > 0)
	scratch []*qconsumer // dispatch's round

	timers qheap
	timer  *time.Timer // rings the loop awake at the earliest due
	armed  int64       // the due timer is armed for, 0 = not armed
	fired  atomic.Bool // set by timer; the loop runs the due timers
	wake   func()      // rings the router doorbell; nil in hand-driven tests
	// wakeMu orders the timer's wake call before close: the router
	// segment (the doorbell) is unmapped after the loop shuts down. It is
	// never held with another lock, and never on the loop's hot path.
	wakeMu sync.Mutex
	closed bool // guarded by wakeMu

	hdrs  []byte   // scratch: a dead letter's header block
	frame []byte   // scratch: a dead letter's frame
	dlMsg wire.Msg // scratch: a dead letter
}

// rqueue is the loop's state of one queue.
type rqueue struct {
	q         *queue.Queue
	name      string
	cfg       wire.QueueConfig // as filled in: what Info shows, what a redeclare must match
	block     time.Duration    // Overflow block: how long a sender is held
	dlQueue   string           // dead-letter target queue, or
	dlTopic   string           // dead-letter target topic ("" and "": discard)
	private   bool
	owner     uint64 // private: the owning connection
	consumers []*qconsumer
	rr        int // the consumer next in line
	binds     []*binding
	pubSeq    uint64 // the last publish pushed into this queue by a binding
	dirty     bool
	deleted   bool
	due       int64 // the deadline it is in timers for; 0 = not in timers
	hidx      int   // index in timers

	// Router-side counters (the core counts the rest).
	boundIn, boundRefused, deadLost uint64
}

// qconsumer is one queue consumer (TypeConsume): a sid of a client.
type qconsumer struct {
	id        queue.ConsumerID // unique router-wide
	sid       uint64
	c         *client
	rq        *rqueue
	prefetch  int
	sel       *selector.Selector // nil: every message
	idx       int                // index in rq.consumers
	need      int                // > 0: waiting for this much room in c's out ring
	delivered uint64
	tooLarge  bool // told the log once that a message cannot fit its ring
	gone      bool
}

// binding is one topic pattern bound to a queue. Sub comes first so that
// the *Sub the trie hands back converts to its binding (bindOf).
type binding struct {
	Sub
	rq      *rqueue
	pattern string
}

func bindOf(s *Sub) *binding { return (*binding)(unsafe.Pointer(s)) }

// DefaultPrefetch is the prefetch of a consumer that asks for 0.
const DefaultPrefetch = 64

func (qs *qstate) init(r *Router) {
	qs.reg = queue.NewRegistry(nil)
	qs.queues = make(map[string]*rqueue)
	qs.binds = NewSublist()
	if r.rseg != nil { // nil for a loop driven by hand (tests)
		qs.wake = r.wakeLoop
	}
}

// busy reports whether queueWork has anything to do (a few loads: the
// loop asks on every pass).
func (qs *qstate) busy() bool {
	return len(qs.dirty) > 0 || len(qs.waiting) > 0 || qs.fired.Load()
}

// touch marks rq for dispatch and event draining in this pass.
func (qs *qstate) touch(rq *rqueue) {
	if !rq.dirty {
		rq.dirty = true
		qs.dirty = append(qs.dirty, rq)
	}
}

// close stops the wake-up timer; once it returns the timer rings nothing.
func (qs *qstate) close() {
	qs.wakeMu.Lock()
	qs.closed = true
	qs.wakeMu.Unlock()
	if qs.timer != nil {
		qs.timer.Stop()
	}
}

// queueWork dispatches and drains the queues touched since the last call,
// runs the timers that are due, and retries consumers that were waiting
// for room in their rings. It returns the number of deliveries made.
func (l *loop) queueWork() int {
	qs := &l.qs
	if qs.fired.Load() {
		qs.fired.Store(false)
		qs.armed = 0
		l.runTimers()
	}
	if len(qs.waiting) > 0 {
		l.retryWaiting()
	}
	n := 0
	// Draining one queue may touch others (dead letters), appended here.
	for i := 0; i < len(qs.dirty); i++ {
		rq := qs.dirty[i]
		rq.dirty = false
		if rq.deleted {
			continue
		}
		n += l.dispatch(rq)
		l.drainEvents(rq)
		l.updateDue(rq)
	}
	clear(qs.dirty)
	qs.dirty = qs.dirty[:0]
	l.armTimer()
	l.flush()
	return n
}

// declare creates the queue or returns the existing one (same config).
func (l *loop) declare(c *client, d *wire.QueueDeclare) (*rqueue, error) {
	qs := &l.qs
	wc, cfg, err := l.queueConfig(d.Name, d.Config)
	if err != nil {
		return nil, err
	}
	if rq := qs.queues[d.Name]; rq != nil && d.Name != "" {
		if err := compatibleExtras(&rq.cfg, &wc); err != nil {
			return nil, fmt.Errorf("declare queue %q: %w", d.Name, err)
		}
	}
	q, err := qs.reg.Declare(d.Name, c.id, cfg)
	if err != nil {
		return nil, err
	}
	if rq := qs.queues[q.Name()]; rq != nil {
		return rq, nil // idempotent
	}
	rq := &rqueue{q: q, name: q.Name(), cfg: wc, block: wc.BlockTimeout, hidx: -1}
	rq.dlQueue, rq.dlTopic = splitDeadLetter(wc.DeadLetter)
	rq.owner, rq.private = q.Owner()
	qs.queues[rq.name] = rq
	l.r.cfg.Logger.Info("queue declared", "queue", rq.name, "private", rq.private, "by", c.id,
		"max_msgs", wc.MaxMsgs, "max_bytes", wc.MaxBytes, "overflow", wc.Overflow, "durability", wc.Durability)
	return rq, nil
}

// lookup finds a queue for c's request; a private queue only for its owner
// unless anyone may (info, send).
func (l *loop) lookup(c *client, name string, ownerOnly bool) (*rqueue, error) {
	rq := l.qs.queues[name]
	if rq == nil {
		return nil, fmt.Errorf("queue %q: %w", name, queue.ErrNotFound)
	}
	if ownerOnly && rq.private && rq.owner != c.id {
		return nil, fmt.Errorf("queue %q is private to connection %d: %w", name, rq.owner, errQueueInvalid)
	}
	return rq, nil
}

// deleteQueue removes rq (already out of the registry): its consumers are
// told (CodeQueueDeleted on their sid), its bindings and timers go, and its
// messages with it. Dead letters it emitted before go out first.
func (l *loop) deleteQueue(rq *rqueue, why string) {
	qs := &l.qs
	l.drainEvents(rq)
	rq.deleted = true
	delete(qs.queues, rq.name)
	for _, qc := range rq.consumers {
		qc.gone = true
		delete(qc.c.qcons, qc.sid)
		l.tell(qc.c, wire.CodeQueueDeleted, qc.sid, fmt.Errorf("queue %q deleted (%s)", rq.name, why))
	}
	rq.consumers = nil
	for _, b := range rq.binds {
		qs.binds.Remove(b.pattern, &b.Sub)
	}
	qs.nbinds -= len(rq.binds)
	rq.binds = nil
	if rq.due != 0 {
		qs.timers.remove(rq)
	}
	l.r.cfg.Logger.Info("queue deleted", "queue", rq.name, "why", why, "depth", rq.q.Depth())
}

// bind adds a topic pattern to rq (idempotent).
func (l *loop) bind(rq *rqueue, pattern string) error {
	if err := l.qs.reg.Bind(rq.name, pattern); err != nil {
		return fmt.Errorf("%w: %w", errQueueInvalid, err)
	}
	for _, b := range rq.binds {
		if b.pattern == pattern {
			return nil
		}
	}
	l.nextSubID++
	b := &binding{rq: rq, pattern: pattern}
	b.Sub = Sub{ID: l.nextSubID}
	if err := l.qs.binds.Insert(pattern, &b.Sub); err != nil {
		l.qs.reg.Unbind(rq.name, pattern)
		return fmt.Errorf("%w: %w", errQueueInvalid, err)
	}
	rq.binds = append(rq.binds, b)
	l.qs.nbinds++
	return nil
}

// unbind removes a topic pattern from rq.
func (l *loop) unbind(rq *rqueue, pattern string) error {
	if err := l.qs.reg.Unbind(rq.name, pattern); err != nil {
		return err
	}
	i := slices.IndexFunc(rq.binds, func(b *binding) bool { return b.pattern == pattern })
	if i >= 0 {
		l.qs.binds.Remove(pattern, &rq.binds[i].Sub)
		rq.binds = slices.Delete(rq.binds, i, i+1)
		l.qs.nbinds--
	}
	return nil
}

// queuesClientGone stops c's consumers (their unsettled messages come back
// at once, for other consumers) and deletes its private queues.
func (l *loop) queuesClientGone(c *client) {
	for _, qc := range c.qcons {
		l.stopConsumer(qc)
	}
	c.qhold = qhold{}
	for _, q := range l.qs.reg.DropOwner(c.id) {
		if rq := l.qs.queues[q.Name()]; rq != nil {
			l.deleteQueue(rq, "owner connection gone")
		}
	}
}
