package ring

import (
	"fmt"

	"github.com/shmbus/shmbus/ipc"
)

// Producer is the writing side of an SPSC ring. It is owned by one goroutine
// at a time (it is not safe for concurrent use) and by one process at a time
// (recorded in the ring's owners block).
//
// Invariants (positions are 64-bit byte counts that only grow):
//   - Bytes in [head, tail) are owned by the consumer once published;
//     bytes in [tail, head+capacity) belong to the producer.
//   - The header word at the published end of the stream is 0 or negative
//     (never a stale positive length): before publishing records that end at
//     position e, the producer zeroes the header at e. So a consumer that
//     follows committed lengths from head stops exactly where committed data
//     ends, without reading the tail and without the consumer zeroing
//     anything. Keeping that word writable needs HeaderLength bytes of slack,
//     so the producer never fills the last 8 bytes of the ring.
//   - Records never straddle the end of the buffer: a padding record fills
//     the gap and the record starts at index 0.
type Producer struct {
	r        region
	data     []byte // the data area, len == capacity
	mask     uint64
	capacity uint64
	maxPay   int

	tail      uint64 // next write position (local; published advisorily)
	headCache uint64 // last head seen; refreshed only when it looks full

	// The open claim.
	claimed  bool
	claimIdx uint64 // index of its header
	claimLen int32
	claimTyp uint16
	flags    uint16

	// The pending batch: records committed with CommitDeferred whose first
	// header is still negative. pendingIdx is that first header's index.
	pending    bool
	pendingIdx uint64
	pendingHdr uint64

	wantRoom uint64        // bytes the last refused claim needed (for Ready)
	bell     *ipc.Doorbell // the consumer's: rung after each publish
	roomBell *ipc.Doorbell // ours: the consumer rings it after freeing room
	o        options
	closed   bool
}

// NewProducer attaches the producer side of the SPSC ring in region. It fails
// with ErrAttached while another live process owns the producer side; a dead
// owner is taken over and its abandoned claim, if any, discarded and counted.
func NewProducer(b []byte, opts ...Option) (*Producer, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	r, capacity, err := spscGeometry(b)
	if err != nil {
		return nil, err
	}
	bell, err := ipc.NewDoorbell(b[spscConsumerBellOffset:])
	if err != nil {
		return nil, err
	}
	roomBell, err := ipc.NewDoorbell(b[spscProducerBellOffset:])
	if err != nil {
		return nil, err
	}
	if o.bell != nil {
		bell = o.bell
	}
	takenOver, err := claimOwner(r, spscOwnersOffset+ownersProducerOffset, "producer", o)
	if err != nil {
		return nil, err
	}
	if takenOver {
		resetWaiters(r, spscProducerBellOffset)
	}
	p := &Producer{
		r:        r,
		data:     b[spscDataOffset : spscDataOffset+capacity],
		mask:     uint64(capacity - 1),
		capacity: uint64(capacity),
		maxPay:   SPSCMaxPayload(capacity),
		bell:     bell,
		roomBell: roomBell,
		o:        o,
	}
	p.recover()
	r.add64(spscCountersOffset+ctrProducerAttachOffset, 1)
	return p, nil
}

// recover finds where committed data ends by following record lengths from
// the consumer's head, the same walk the consumer makes. A negative header
// there is a claim abandoned by a previous producer (dead, or we could not
// have taken over): it is counted and cleared. Anything a dead producer wrote
// beyond that point is unreachable (see the zero-header invariant).
func (p *Producer) recover() {
	head := p.r.load64(spscHeadOffset)
	pos := head
	for pos-head < p.capacity {
		idx := pos & p.mask
		length, _, _ := splitHeader(p.r.load64(spscDataOffset + int(idx)))
		if length <= 0 {
			if length < 0 {
				p.r.add64(spscCountersOffset+ctrRecoveredClaimsOffset, 1)
				p.r.add64(spscCountersOffset+ctrRecoveredBytesOffset, uint64(-length))
				p.r.store64(spscDataOffset+int(idx), 0)
			}
			break
		}
		alen := uint64(align(int(length), RecordAlignment))
		if int(length) < HeaderLength || alen > p.capacity-idx {
			// Garbage (a scribbled ring): start over here, and zero the
			// word so the consumer sees the end of data, not the garbage.
			p.r.store64(spscDataOffset+int(idx), 0)
			break
		}
		pos += alen
	}
	p.tail = pos
	p.headCache = head
	storeRelaxed(p.r.u64(spscTailOffset), pos)
}

// MaxPayload is the largest payload Claim accepts.
func (p *Producer) MaxPayload() int { return p.maxPay }

// Claim reserves a record of n payload bytes and returns them, inside the
// ring, for the caller to fill (zero copy). It returns ErrFull when there is
// no room now. The claim stays open until Commit, CommitDeferred or Abort.
func (p *Producer) Claim(typ uint16, n int) ([]byte, error) {
	if p.claimed {
		return nil, ErrClaimPending
	}
	if p.closed {
		return nil, ErrClosed
	}
	if n < 0 || n > p.maxPay {
		return nil, fmt.Errorf("payload of %d bytes, ring takes at most %d: %w", n, p.maxPay, ErrTooLarge)
	}
	if typ == TypePadding {
		return nil, fmt.Errorf("record type %#x is reserved for padding: %w", typ, ErrBadLayout)
	}
	length := HeaderLength + n
	alen := uint64(align(length, RecordAlignment))
	tail := p.tail
	idx := tail & p.mask
	pad := uint64(0)
	if toEnd := p.capacity - idx; alen > toEnd {
		pad = toEnd
	}
	// Room for the padding, the record and the next record's zero header.
	need := pad + alen + HeaderLength
	if tail+need-p.headCache > p.capacity {
		// The acquire load of head orders the consumer's reads of the bytes it
		// freed before our writes into them.
		p.headCache = p.r.load64(spscHeadOffset)
		if tail+need-p.headCache > p.capacity {
			p.wantRoom = need
			p.r.add64(spscCountersOffset+ctrFullOffset, 1)
			return nil, ErrFull
		}
	}
	if pad > 0 {
		p.stage(idx, makeHeader(int32(pad), TypePadding, 0), true)
		tail += pad
		idx = 0
	}
	// Outside a batch, mark the claim (negative length) so that a takeover
	// can count it if we die. Inside a batch the word stays as it is: the
	// batch's first, still negative, header hides it, and Flush marks it if
	// it is still open then.
	if !p.pending {
		storeRelaxed(p.hdr(idx), makeHeader(-int32(length), typ, 0))
	}
	p.claimed, p.claimIdx, p.claimLen, p.claimTyp, p.flags = true, idx, int32(length), typ, 0
	p.tail = tail + alen
	off := idx + HeaderLength
	return p.data[off : off+uint64(n) : off+uint64(n)], nil
}

// SetFlags sets the flags of the open claim's header.
func (p *Producer) SetFlags(f uint16) { p.flags = f }

// Commit publishes the open claim now, together with any deferred records.
func (p *Producer) Commit() {
	p.CommitDeferred()
	p.Flush()
}

// CommitDeferred completes the open claim but leaves it unpublished until the
// next Flush or Commit: a batch costs one atomic store instead of one per
// record. Records are published in order.
func (p *Producer) CommitDeferred() {
	if !p.claimed {
		panic(ErrNoClaim)
	}
	p.claimed = false
	p.stage(p.claimIdx, makeHeader(p.claimLen, p.claimTyp, p.flags), false)
}

// Abort abandons the open claim. Its space becomes padding, published with
// the next Flush or Commit.
func (p *Producer) Abort() {
	if !p.claimed {
		panic(ErrNoClaim)
	}
	p.claimed = false
	p.stage(p.claimIdx, makeHeader(p.claimLen, TypePadding, 0), false)
}

// stage sets a finished header. The first finished header of a batch keeps
// a negative (not ready) length until Flush; later ones are written now,
// invisible behind it. fresh is set for a header that holds no claim marker
// yet (wrap padding): it gets one, so the word is never a stale length.
func (p *Producer) stage(idx, h uint64, fresh bool) {
	if !p.pending {
		p.pending, p.pendingIdx, p.pendingHdr = true, idx, h
		if fresh {
			length, typ, flags := splitHeader(h)
			storeRelaxed(p.hdr(idx), makeHeader(-length, typ, flags))
		}
		return
	}
	storeRelaxed(p.hdr(idx), h)
}

// Flush publishes every record committed so far. Cost: one atomic store, and
// a futex wake only when the consumer has announced that it is parked.
func (p *Producer) Flush() {
	if !p.pending {
		return
	}
	p.pending = false
	// Keep the invariant for the new end of published data: the word there
	// is the open claim's header (marked negative) or, with no claim open,
	// zeroed. Plain stores, ordered by the publishing store below.
	end := p.tail
	if p.claimed {
		end -= uint64(align(int(p.claimLen), RecordAlignment))
		storeRelaxed(p.hdr(p.claimIdx), makeHeader(-p.claimLen, p.claimTyp, 0))
	} else {
		storeRelaxed(p.hdr(end&p.mask), 0)
	}
	storeRelaxed(p.r.u64(spscTailOffset), end)
	// The release: every payload and header written before is visible to a
	// consumer that loads this header (acquire). Being sequentially
	// consistent, it also orders before the doorbell's load of the waiter
	// count, which is what makes the wake-up protocol lossless.
	p.r.store64(spscDataOffset+int(p.pendingIdx), p.pendingHdr)
	p.bell.Ring()
}

// Write copies payload into a new record and publishes it.
func (p *Producer) Write(typ uint16, payload []byte) error {
	buf, err := p.Claim(typ, len(payload))
	if err != nil {
		return err
	}
	copy(buf, payload)
	p.Commit()
	return nil
}

func (p *Producer) hdr(idx uint64) *uint64 { return p.r.u64(spscDataOffset + int(idx)) }

// Ready reports whether the claim that last failed with ErrFull would now
// fit (ipc.Parkable, for waiting for room with an idle strategy).
func (p *Producer) Ready() bool {
	p.headCache = p.r.load64(spscHeadOffset)
	return p.tail+p.wantRoom-p.headCache <= p.capacity
}

// Free returns how many bytes a claim could use now (one record's header
// and alignment included), reading the consumer's head.
func (p *Producer) Free() int {
	p.headCache = p.r.load64(spscHeadOffset)
	used := p.tail - p.headCache + HeaderLength
	if used >= p.capacity {
		return 0
	}
	return int(p.capacity - used)
}

// Doorbell is the doorbell the consumer rings when it frees room.
func (p *Producer) Doorbell() *ipc.Doorbell { return p.roomBell }

// Stats reads the ring's shared counters.
func (p *Producer) Stats() SPSCStats {
	return spscStats(p.r, int(p.capacity))
}

// Close flushes what was committed, aborts an open claim and releases the
// producer side so another process can attach.
func (p *Producer) Close() error {
	if p.closed {
		return nil
	}
	if p.claimed {
		p.Abort()
	}
	p.Flush()
	p.closed = true
	releaseOwner(p.r, spscOwnersOffset+ownersProducerOffset, p.o.self)
	return nil
}
