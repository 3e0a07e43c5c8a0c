package ring

import (
	"fmt"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// MPMCConsumer is one consumer of an MPMC ring. Many consumers share a ring,
// each record going to exactly one of them; each MPMCConsumer is used by one
// goroutine. It holds an entry of the ring's consumer table, where it
// records the run of slots it claims, so that if its process dies holding
// them others can free them (see mpmc_recover.go).
type MPMCConsumer struct {
	q     mpmc
	index int
	run   *uint64 // our run word
	err   error

	// The run we hold: slots [next, end) are ours to hand over and free.
	next, end uint64
	reading   bool // inside Read (Close from a handler waits for the run)
	closed    bool

	// Stuck-claim tracking (consumer-local, touched only on empty polls).
	empties    uint32
	stuckPos   uint64
	stuckSince time.Time
	lastCheck  time.Time
}

// stuckCheckEvery is how many empty polls pass between looks for a stuck
// claim, so an idle ring does not make consumers read the producers' line
// on every poll.
const stuckCheckEvery = 64

// NewMPMCConsumer attaches a consumer, taking a free entry of the consumer
// table or one whose process is dead; the slots a dead consumer still held
// are freed first (their records are lost and counted in RecoveredReads).
// ErrTooManyConsumers when all MaxConsumers entries belong to live
// consumers.
func NewMPMCConsumer(b []byte, opts ...Option) (*MPMCConsumer, error) {
	q, err := attachMPMC(b, opts)
	if err != nil {
		return nil, err
	}
	i, err := q.claimConsumer()
	if err != nil {
		return nil, err
	}
	return &MPMCConsumer{q: q, index: i, run: q.r.u64(consumerEntry(i) + consumerRunOffset), stuckPos: ^uint64(0)}, nil
}

// maxRun is the most slots one consumer claims with one CAS.
const maxRun = 32

// Read takes up to limit records (<= 0: all available) and hands each to h.
// Returns the number handed over; never blocks. Consecutive committed slots
// are claimed as a run with one CAS on the dequeue position, so a busy ring
// costs one contended atomic per run, not per record.
//
// If h panics, the record it was given is dropped (its slot freed, so a
// poison record cannot wedge the ring); should the panic be recovered, the
// next Read hands over the rest of that run first.
func (c *MPMCConsumer) Read(h Handler, limit int) int {
	if c.closed {
		return 0
	}
	c.reading = true
	defer c.doneReading()
	n := 0
	if c.next != c.end { // a handler panicked at c.next
		c.q.drop(c.next)
		c.next++
	}
	for {
		for c.next != c.end {
			if c.take(c.next, h) {
				n++
			}
			c.next++
		}
		if c.closed || limit > 0 && n >= limit {
			break
		}
		want := maxRun
		if limit > 0 && limit-n < want {
			want = limit - n
		}
		pos, k := c.claimRun(want)
		if k == 0 {
			break
		}
		c.next, c.end = pos, pos+k
	}
	return n
}

// doneReading ends a Read, also one cut short by a panicking handler, and
// completes a Close called from a handler.
func (c *MPMCConsumer) doneReading() {
	c.reading = false
	if c.closed {
		c.release()
	}
}

// claimRun claims up to want consecutive committed slots from the dequeue
// position; it returns the first position and how many it claimed.
func (c *MPMCConsumer) claimRun(want int) (uint64, uint64) {
	q := &c.q
	pos := q.r.load64(mpmcDequeueOffset)
	intent := false
	for {
		so := q.slot(pos)
		seq := q.r.load64(so + slotSeqOffset)
		s := seq &^ abandonedBit
		if s == pos+1 {
			// Extend the run while the next slots are committed too. Their
			// seq cannot change under us once we own them: producers touch a
			// slot only when seq equals their position, consumers only after
			// winning the dequeue CAS, which fails if anyone moved it.
			k := uint64(1)
			for k < uint64(want) && q.r.load64(q.slot(pos+k)+slotSeqOffset)&^abandonedBit == pos+k+1 {
				k++
			}
			// Record the run before claiming it, so that a won CAS always
			// has its run on record (mpmc_recover.go). A plain store: the
			// CAS publishes it, and a reader that sees D moved sees it.
			storeRelaxed(c.run, packRun(pos, k))
			intent = true
			if q.r.cas64(mpmcDequeueOffset, pos, pos+k) {
				return pos, k
			}
			pos = q.r.load64(mpmcDequeueOffset)
			continue
		}
		if s < pos+1 {
			// pos: free or claimed and not committed; below pos: the
			// consumer of the previous lap is still reading it.
			c.empties++
			if s == pos && c.empties%stuckCheckEvery == 0 && q.r.load64(mpmcEnqueueOffset) > pos {
				c.checkStuck(so, pos)
			}
			c.dropIntent(intent)
			return 0, 0
		}
		// seq is past pos+1 only once another consumer moved the dequeue
		// position past pos; if it did not move, seq is garbage.
		if next := q.r.load64(mpmcDequeueOffset); next != pos {
			pos = next
			continue
		}
		if c.err == nil {
			c.err = fmt.Errorf("slot at position %d: sequence %#x impossible: %w", pos, seq, ErrCorrupt)
		}
		c.dropIntent(intent)
		return 0, 0
	}
}

// dropIntent clears our run word if this claimRun wrote an intent whose CAS
// lost: a live consumer's stale intent would hold up the recovery of the
// slots it covers, so it must not outlive the call.
func (c *MPMCConsumer) dropIntent(intent bool) {
	if intent {
		storeRelaxed(c.run, 0)
	}
}

// take handles the claimed slot at pos and frees it; it reports whether a
// record reached h (revoked and aborted slots do not).
func (c *MPMCConsumer) take(pos uint64, h Handler) bool {
	q := &c.q
	so := q.slot(pos)
	if q.r.load64(so+slotSeqOffset)&abandonedBit != 0 {
		q.drop(pos)
		return false
	}
	length, typ, flags := splitHeader(q.r.load64(so + slotHeaderOffset))
	got := false
	if typ != TypePadding {
		if length < HeaderLength || int(length)-HeaderLength > q.maxPay {
			if c.err == nil {
				c.err = fmt.Errorf("slot at position %d: length %d outside [%d, %d]: %w", pos, length, HeaderLength, q.maxPay+HeaderLength, ErrCorrupt)
			}
		} else {
			p := so + slotPayloadOffset
			h(typ, flags, q.r.buf[p:p+int(length)-HeaderLength:p+int(length)-HeaderLength])
			got = true
		}
	}
	// Release: our reads of the slot happen before a producer reuses it.
	q.r.store64(so+slotSeqOffset, pos+q.slots)
	q.roomBell.Ring()
	return got
}

// drop frees the slot at pos, which we hold, without handing it over. A
// revoked claim whose producer may still be writing is quarantined instead.
func (q *mpmc) drop(pos uint64) {
	so := q.slot(pos)
	free := pos + q.slots
	if q.r.load64(so+slotSeqOffset)&abandonedBit != 0 {
		if owner, known := q.ownerOf(so, pos); known && q.o.alive(owner) {
			free |= abandonedBit // quarantine: its producer may still write
		}
	}
	q.r.store64(so+slotSeqOffset, free)
	q.roomBell.Ring()
}

// checkStuck revokes the claim at pos when its producer is dead, or when it
// has been stuck longer than the stuck timeout.
func (c *MPMCConsumer) checkStuck(so int, pos uint64) {
	q := &c.q
	now := time.Now()
	if c.stuckPos != pos {
		c.stuckPos, c.stuckSince, c.lastCheck = pos, now, time.Time{}
	}
	revoke := now.Sub(c.stuckSince) >= q.o.stuckTimeout
	if !revoke && now.Sub(c.lastCheck) >= time.Millisecond {
		c.lastCheck = now
		if owner, known := q.ownerOf(so, pos); known && !q.o.alive(owner) {
			revoke = true
		}
	}
	if revoke && q.r.cas64(so+slotSeqOffset, pos, (pos+1)|abandonedBit) {
		q.count(ctrRecoveredClaimsOffset)
		q.bell.Ring() // other parked consumers may take it
	}
}

// Ready reports whether a record may be waiting (ipc.Parkable). A claim that
// is stuck also counts, so that the consumer wakes to revoke it.
func (c *MPMCConsumer) Ready() bool {
	q := &c.q
	pos := q.r.load64(mpmcDequeueOffset)
	s := q.r.load64(q.slot(pos)+slotSeqOffset) &^ abandonedBit
	return s != pos || (c.stuckPos == pos && q.r.load64(mpmcEnqueueOffset) > pos)
}

// Doorbell is rung by producers after each commit.
func (c *MPMCConsumer) Doorbell() *ipc.Doorbell { return c.q.bell }

// Err returns the first corrupt record met (that record was skipped).
func (c *MPMCConsumer) Err() error { return c.err }

// Stats reads the ring's shared counters.
func (c *MPMCConsumer) Stats() MPMCStats { return c.q.stats() }

// Close detaches the consumer, releasing its consumer-table entry. Called
// from a handler, it takes effect when the run being handed over is done.
// Slots still held after a handler's panic are dropped.
func (c *MPMCConsumer) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if !c.reading {
		c.release()
	}
	return nil
}

// release drops what is left of our run, clears our run word and frees our
// entry, in that order: a word cleared before its slots are freed would
// leave them unattributed if we died in between.
func (c *MPMCConsumer) release() {
	for ; c.next != c.end; c.next++ {
		c.q.drop(c.next)
	}
	off := consumerEntry(c.index)
	c.q.r.store64(off+consumerRunOffset, 0)
	releaseOwner(c.q.r, off, c.q.o.self)
}
