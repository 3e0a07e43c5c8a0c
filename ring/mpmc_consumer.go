package ring

import (
	"fmt"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// MPMCConsumer is one consumer of an MPMC ring. Many consumers share a ring,
// each record going to exactly one of them; each MPMCConsumer is used by one
// goroutine.
type MPMCConsumer struct {
	q   mpmc
	err error

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

// NewMPMCConsumer attaches a consumer.
func NewMPMCConsumer(b []byte, opts ...Option) (*MPMCConsumer, error) {
	q, err := attachMPMC(b, opts)
	if err != nil {
		return nil, err
	}
	return &MPMCConsumer{q: q, stuckPos: ^uint64(0)}, nil
}

// maxRun is the most slots one consumer claims with one CAS.
const maxRun = 32

// Read takes up to limit records (<= 0: all available) and hands each to h.
// Returns the number handed over; never blocks. Consecutive committed slots
// are claimed as a run with one CAS on the dequeue position, so a busy ring
// costs one contended atomic per run, not per record.
func (c *MPMCConsumer) Read(h Handler, limit int) int {
	n := 0
	for limit <= 0 || n < limit {
		want := maxRun
		if limit > 0 && limit-n < want {
			want = limit - n
		}
		pos, k := c.claimRun(want)
		if k == 0 {
			break
		}
		for i := uint64(0); i < k; i++ {
			if c.take(pos+i, h) {
				n++
			}
		}
	}
	return n
}

// claimRun claims up to want consecutive committed slots from the dequeue
// position; it returns the first position and how many it claimed.
func (c *MPMCConsumer) claimRun(want int) (uint64, uint64) {
	q := &c.q
	pos := q.r.load64(mpmcDequeueOffset)
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
		return 0, 0
	}
}

// take handles the claimed slot at pos and frees it; it reports whether a
// record reached h (revoked and aborted slots do not).
func (c *MPMCConsumer) take(pos uint64, h Handler) bool {
	q := &c.q
	so := q.slot(pos)
	free := pos + q.slots
	if q.r.load64(so+slotSeqOffset)&abandonedBit != 0 {
		owner, known := q.ownerOf(so, pos)
		if known && q.o.alive(owner) {
			free |= abandonedBit // quarantine: its producer may still write
		}
		q.r.store64(so+slotSeqOffset, free)
		q.roomBell.Ring()
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
	q.r.store64(so+slotSeqOffset, free)
	q.roomBell.Ring()
	return got
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

// Close detaches the consumer (consumers hold no shared state).
func (c *MPMCConsumer) Close() error { return nil }
