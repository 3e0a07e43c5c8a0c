package ring

import (
	"fmt"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// MPMCProducer is one producer of an MPMC ring. Many producers, in one or
// many processes, share a ring; each MPMCProducer is used by one goroutine.
type MPMCProducer struct {
	q       mpmc
	index   uint64 // our entry in the producer table
	claimed bool
	pos     uint64
	so      int
	hdr     uint64
	closed  bool

	// Held-slot tracking (producer-local, touched only on ErrFull): how
	// many claims since our last success found the previous lap's record
	// held by a consumer, and when we last looked whether it is dead.
	held      uint32
	lastCheck time.Time
}

// NewMPMCProducer attaches a producer, taking a free entry of the producer
// table (or one whose process is dead).
func NewMPMCProducer(b []byte, opts ...Option) (*MPMCProducer, error) {
	q, err := attachMPMC(b, opts)
	if err != nil {
		return nil, err
	}
	// Take the first entry that is free or whose process is dead; claimOwner
	// makes that one CAS, so two producers never share an entry.
	for i := 0; i < MaxProducers; i++ {
		if _, err := claimOwner(q.r, mpmcProducersOffset+i*producerEntrySize, "producer", q.o); err == nil {
			return &MPMCProducer{q: q, index: uint64(i)}, nil
		}
	}
	return nil, fmt.Errorf("all %d producer entries held by live processes: %w", MaxProducers, ErrTooManyProducers)
}

// MaxPayload is the largest payload Claim accepts.
func (p *MPMCProducer) MaxPayload() int { return p.q.maxPay }

// Claim reserves the next slot for n payload bytes and returns them for the
// caller to fill. ErrFull when every slot is taken.
func (p *MPMCProducer) Claim(typ uint16, n int) ([]byte, error) {
	if p.claimed {
		return nil, ErrClaimPending
	}
	if p.closed {
		return nil, ErrClosed
	}
	if n < 0 || n > p.q.maxPay {
		return nil, fmt.Errorf("payload of %d bytes, ring takes at most %d: %w", n, p.q.maxPay, ErrTooLarge)
	}
	if typ == TypePadding {
		return nil, fmt.Errorf("record type %#x is reserved for padding: %w", typ, ErrBadLayout)
	}
	q := &p.q
	pos := q.r.load64(mpmcEnqueueOffset)
	for {
		so := q.slot(pos)
		seq := q.r.load64(so + slotSeqOffset)
		switch {
		case seq == pos:
			if q.r.cas64(mpmcEnqueueOffset, pos, pos+1) {
				// Record ourselves before touching the payload, so a consumer
				// that finds this claim stuck can tell whose it is.
				q.r.store64(so+slotOwnerOffset, pos<<8|p.index)
				p.claimed, p.pos, p.so, p.held = true, pos, so, 0
				p.hdr = makeHeader(int32(HeaderLength+n), typ, 0)
				return q.r.buf[so+slotPayloadOffset : so+slotPayloadOffset+n : so+slotPayloadOffset+n], nil
			}
			pos = q.r.load64(mpmcEnqueueOffset)
		case seq == (pos|abandonedBit) && q.releaseDead(so, pos-q.slots):
			// A quarantined slot whose stalled owner is now dead: freed, retry.
		case int64(seq) < int64(pos):
			// The slot still holds the record of the previous lap (or is
			// quarantined): the ring is full. If a consumer claimed that
			// record and died holding it, free its run and retry.
			if seq&^abandonedBit == pos-q.slots+1 && p.recoverRead(pos-q.slots) {
				pos = q.r.load64(mpmcEnqueueOffset)
				continue
			}
			q.count(ctrFullOffset)
			return nil, ErrFull
		default:
			// seq is past pos only once another producer moved the enqueue
			// position past pos; if it did not move, seq is garbage.
			next := q.r.load64(mpmcEnqueueOffset)
			if next == pos {
				return nil, fmt.Errorf("slot at position %d: sequence %#x impossible: %w", pos, seq, ErrCorrupt)
			}
			pos = next
		}
	}
}

// recoverRead looks, at most once a millisecond and only after
// stuckCheckEvery such refusals, whether the consumer holding the record of
// position pos is dead, and if so frees its run (mpmc_recover.go). A live
// consumer is never robbed, however long it takes.
func (p *MPMCProducer) recoverRead(pos uint64) bool {
	if p.held < stuckCheckEvery {
		p.held++
		return false
	}
	now := time.Now()
	if now.Sub(p.lastCheck) < time.Millisecond {
		return false
	}
	p.lastCheck = now
	return p.q.recoverRead(pos)
}

// releaseDead frees a quarantined slot (revoked at position pos) once its
// owner is dead.
func (q *mpmc) releaseDead(so int, pos uint64) bool {
	if owner, ok := q.ownerOf(so, pos); ok && q.o.alive(owner) {
		return false
	}
	return q.r.cas64(so+slotSeqOffset, (pos+q.slots)|abandonedBit, pos+q.slots)
}

// SetFlags sets the flags of the open claim's header.
func (p *MPMCProducer) SetFlags(f uint16) { p.hdr = p.hdr&^(0xFFFF<<48) | uint64(f)<<48 }

// Commit publishes the open claim. It fails with ErrClaimRevoked if a
// consumer revoked the claim because this producer stalled past the stuck
// timeout; the record is then lost and the slot released.
func (p *MPMCProducer) Commit() error { return p.finish(p.hdr) }

// Abort abandons the open claim; consumers skip the slot.
func (p *MPMCProducer) Abort() {
	_, _, f := splitHeader(p.hdr)
	_ = p.finish(makeHeader(HeaderLength, TypePadding, f))
}

func (p *MPMCProducer) finish(h uint64) error {
	if !p.claimed {
		return ErrNoClaim
	}
	p.claimed = false
	q := &p.q
	storeRelaxed(q.r.u64(p.so+slotHeaderOffset), h)
	// Release by CAS: the header and payload are visible before seq says
	// "ready"; the CAS fails if a consumer revoked the claim meanwhile.
	if !q.r.cas64(p.so+slotSeqOffset, p.pos, p.pos+1) {
		// Revoked and quarantined: free the slot for the next lap.
		q.r.cas64(p.so+slotSeqOffset, (p.pos+q.slots)|abandonedBit, p.pos+q.slots)
		return fmt.Errorf("claim at position %d: %w", p.pos, ErrClaimRevoked)
	}
	q.bell.Ring()
	return nil
}

// Write copies payload into a slot and publishes it.
func (p *MPMCProducer) Write(typ uint16, payload []byte) error {
	buf, err := p.Claim(typ, len(payload))
	if err != nil {
		return err
	}
	copy(buf, payload)
	return p.Commit()
}

// Ready reports whether a slot may be free (ipc.Parkable).
func (p *MPMCProducer) Ready() bool {
	q := &p.q
	pos := q.r.load64(mpmcEnqueueOffset)
	return int64(q.r.load64(q.slot(pos)+slotSeqOffset)) >= int64(pos)
}

// Doorbell is rung by consumers when they free a slot.
func (p *MPMCProducer) Doorbell() *ipc.Doorbell { return p.q.roomBell }

// Stats reads the ring's shared counters.
func (p *MPMCProducer) Stats() MPMCStats { return p.q.stats() }

// Close aborts an open claim and frees the producer-table entry.
func (p *MPMCProducer) Close() error {
	if p.closed {
		return nil
	}
	if p.claimed {
		p.Abort()
	}
	p.closed = true
	releaseOwner(p.q.r, mpmcProducersOffset+int(p.index)*producerEntrySize, p.q.o.self)
	return nil
}
