package queue

import (
	"fmt"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// Clock returns the current time in nanoseconds on the CLOCK_MONOTONIC
// scale the wire format's deadlines use. Tests inject a fake one.
type Clock func() int64

// Queue is one point-to-point queue. It is not safe for concurrent use:
// the router's event loop owns it and calls every method; nothing in it
// blocks or starts a goroutine.
//
// Invariants (checked by the tests' verify after every operation):
//   - depth == ready + delayed + inFlight == len(byID) <= cfg.MaxMsgs.
//   - bytes is the sum of the held payload lengths, <= cfg.MaxBytes.
//   - each levels[p] is sorted by seq (FIFO by enqueue order, also for
//     messages that came back), and mask bit p is set iff it is non-empty.
//   - a message is in the expiry heap iff it is ready or delayed and has a
//     deadline, in the timer heap iff it is delayed, or in flight with an
//     ack timeout.
type Queue struct {
	name  string
	cfg   Config
	clock Clock

	levels [NumPriorities]mlist
	mask   uint16 // bit p set: levels[p] is non-empty
	streak int    // Aging: deliveries from the top level while a lower one waited
	byID   map[uint64]*msg
	expiry dheap
	timers dheap

	consumers map[ConsumerID]*consumer
	credit    creditList

	seq                      uint64
	ready, delayed, inFlight int
	bytes                    int64

	pool     bufPool
	freeMsgs *msg

	events   []Event
	alerts   []alertLevel
	alertN   int  // alerts[:alertN] are raised
	wantRoom bool // Block: a push was refused; emit EventRoom when wantSize fits
	wantSize int

	bindings []string
	owner    uint64 // private queues: the owning connection
	private  bool

	gen uint64 // bumped whenever the ready set or a filter changes
	pk  peeked // PeekFor's choice, valid while pk.gen == gen

	c counters
}

// counters are the queue's monotonically increasing totals.
type counters struct {
	enqueued, delivered, acked, redelivered, expired   uint64
	rejected, dropped, deadLettered, termed, purged    uint64
	ackTimeouts, naks, blocked, maxDeliveriesExhausted uint64
}

// New returns an empty queue named name (opaque here; the Registry checks
// names). clock nil means ipc.MonotonicNanos.
func New(name string, cfg Config, clock Clock) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("queue %q: %w", name, err)
	}
	if clock == nil {
		clock = ipc.MonotonicNanos
	}
	q := &Queue{
		name:      name,
		cfg:       cfg.clone(),
		clock:     clock,
		byID:      make(map[uint64]*msg),
		expiry:    dheap{slot: hExpiry},
		timers:    dheap{slot: hTimer},
		consumers: make(map[ConsumerID]*consumer),
	}
	q.pool.limit = min(cfg.MaxBytes, maxPooled)
	q.alerts = makeAlerts(&q.cfg)
	return q, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// Config returns the queue's configuration (AlertLevels is shared: do not
// modify it).
func (q *Queue) Config() Config { return q.cfg }

// Depth is the number of messages held: ready, delayed and in flight.
func (q *Queue) Depth() int { return len(q.byID) }

// Ready is the number of messages waiting for a consumer (not delayed,
// not in flight).
func (q *Queue) Ready() int { return q.ready }

// Bytes is the sum of the held messages' payload sizes.
func (q *Queue) Bytes() int64 { return q.bytes }

// Fits reports whether a message of size bytes would be taken now without
// dropping anything (what a router holding a sender under Block checks).
func (q *Queue) Fits(size int) bool {
	return len(q.byID) < q.cfg.MaxMsgs && q.bytes+int64(size) <= q.cfg.MaxBytes
}

// EffectiveDeadline is a message's deadline in a queue: the earlier of its
// own (0 = none) and now + ttl (ttl 0 = none); 0 when neither is set.
func EffectiveDeadline(own, now int64, ttl time.Duration) int64 {
	if ttl <= 0 {
		return own
	}
	d := now + int64(ttl)
	if own != 0 && own < d {
		return own
	}
	return d
}

// Expired reports whether a message with this deadline (0 = none) has
// expired at now: the check the router makes on a message sitting in a
// subscriber's ring before handing it on.
func Expired(deadline, now int64) bool { return deadline != 0 && deadline <= now }

// Push copies payload into the queue as message id with priority prio
// (0..MaxPriority) and deadline (CLOCK_MONOTONIC ns, 0 = none; the queue's
// DefaultTTL may bring it earlier). nil means it is queued. The errors are
// bare sentinels (no allocation): ErrBadPriority, ErrTooLarge,
// ErrDuplicateID, ErrExpired (already past its deadline: not queued,
// counted as expired, not dead-lettered), ErrQueueFull (Reject, or
// DropOldest with nothing to drop; counted as rejected) and ErrWouldBlock
// (Block; see Overflow).
func (q *Queue) Push(id uint64, prio uint8, deadline int64, payload []byte) error {
	if prio > MaxPriority {
		return ErrBadPriority
	}
	size := len(payload)
	if int64(size) > q.cfg.MaxBytes {
		q.c.rejected++
		return ErrTooLarge
	}
	if _, dup := q.byID[id]; dup {
		return ErrDuplicateID
	}
	now := q.clock()
	dl := EffectiveDeadline(deadline, now, q.cfg.DefaultTTL)
	if Expired(dl, now) {
		q.c.expired++
		return ErrExpired
	}
	if !q.Fits(size) {
		switch q.cfg.Overflow {
		case Block:
			q.c.blocked++
			if !q.wantRoom || size < q.wantSize {
				q.wantSize = size
			}
			q.wantRoom = true
			return ErrWouldBlock
		case DropOldest:
			if !q.makeRoom(prio, size) {
				q.c.rejected++
				return ErrQueueFull
			}
		default:
			q.c.rejected++
			return ErrQueueFull
		}
	}
	m := q.newMsg()
	m.id = id
	m.prio = prio
	q.seq++
	m.seq = q.seq
	m.key[hExpiry] = dl
	m.buf = q.pool.get(size)
	copy(m.buf, payload)
	q.byID[id] = m
	q.bytes += int64(size)
	q.c.enqueued++
	q.makeReady(m)
	if q.cfg.Overflow == DropOldest {
		q.checkClear() // makeRoom may have dropped many small messages for one large
	}
	q.checkRaise()
	return nil
}

// Refuse counts a sender the router held under Block and gave up on (its
// own deadline passed) as rejected.
func (q *Queue) Refuse() { q.c.rejected++ }

// makeRoom drops ready messages at priority <= prio, lowest level first and
// oldest first, until size fits; it drops nothing and returns false when
// even dropping all of them would not do.
func (q *Queue) makeRoom(prio uint8, size int) bool {
	n, b := 0, int64(0)
	for p := 0; p <= int(prio); p++ {
		n += q.levels[p].n
		b += q.levels[p].bytes
	}
	if len(q.byID)-n >= q.cfg.MaxMsgs || q.bytes-b+int64(size) > q.cfg.MaxBytes {
		return false
	}
	for p := 0; !q.Fits(size); {
		if q.levels[p].head == nil {
			p++
			continue
		}
		q.c.dropped++
		q.drop(q.levels[p].head, ReasonOverflow)
	}
	return true
}

// makeReady links a detached, accounted message into its level and, if it
// has a deadline, the expiry heap.
func (q *Queue) makeReady(m *msg) {
	q.gen++
	q.levels[m.prio].insertBySeq(m)
	q.mask |= 1 << m.prio
	if m.key[hExpiry] != 0 {
		q.expiry.push(m)
	}
	m.state = stReady
	q.ready++
}

// Purge discards every ready and delayed message (not dead-lettered,
// counted as purged) and returns how many. Messages in flight stay with
// their consumers and are settled as usual.
func (q *Queue) Purge() int {
	n := 0
	for _, m := range q.byID { // deleting during range is allowed
		if m.state == stReady || m.state == stDelayed {
			q.drop(m, reasonPurge)
			n++
		}
	}
	q.c.purged += uint64(n)
	q.checkClear()
	return n
}
