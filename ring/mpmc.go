package ring

import (
	"fmt"
	"math/bits"

	"github.com/shmbus/shmbus/ipc"
)

// The MPMC ring is Dmitry Vyukov's bounded queue: fixed-size slots, each with
// a sequence number, producers and consumers each claiming positions with one
// CAS. For a consumer at position pos the slot's seq reads:
//
//	pos             free, or claimed by a producer that has not committed
//	pos+1           committed: ready for the consumer at pos
//	pos+capacity    consumed: free for the producer at pos+capacity
//
// Crash safety adds bit 63 (abandonedBit) and an owner word per slot:
//   - A producer writes owner = pos<<8 | its producer-table index right after
//     winning the claim, and commits with CAS(seq, pos, pos+1).
//   - A consumer stuck on a claimed slot (seq == pos < enqueue position)
//     revokes the claim with CAS(seq, pos, (pos+1)|abandonedBit) at once when
//     the owner process is dead, or after the stuck timeout otherwise.
//   - A revoked slot is skipped by consumers. If its owner is dead the slot
//     is freed for the next lap; if the owner might still be alive it is
//     quarantined as (pos+capacity)|abandonedBit, so a stalled producer that
//     wakes up and goes on writing cannot scribble over a newer record: its
//     Commit fails with ErrClaimRevoked and frees the slot, or a producer
//     reaching the slot a lap later frees it once the owner is proven dead.
//
// Consumer crash safety adds the consumer table: each consumer records the
// run of slots it claims in its entry before the dequeue CAS, so that the
// slots of a consumer that dies holding them can be attributed to it and
// freed (at most once delivery for those records); see mpmc_recover.go.

// MPMCSlotSize is the slot size for payloads up to maxPayload bytes.
func MPMCSlotSize(maxPayload int) int { return align(slotPayloadOffset+maxPayload, CacheLine) }

// MPMCSize is the region size for an MPMC ring of slots slots (a power of
// two) carrying payloads up to maxPayload bytes.
func MPMCSize(slots, maxPayload int) int { return mpmcSlotsOffset + slots*MPMCSlotSize(maxPayload) }

// InitMPMC formats region as an empty MPMC ring.
func InitMPMC(b []byte, slots, maxPayload int) error {
	if slots < 2 || slots > 1<<30 || bits.OnesCount(uint(slots)) != 1 {
		return fmt.Errorf("slot count %d is not a power of two in [2, 2^30]: %w", slots, ErrBadLayout)
	}
	if maxPayload < 0 || maxPayload > 1<<24 {
		return fmt.Errorf("max payload %d out of [0, 16 MiB]: %w", maxPayload, ErrBadLayout)
	}
	if len(b) < MPMCSize(slots, maxPayload) {
		return fmt.Errorf("region of %d bytes, ring needs %d: %w", len(b), MPMCSize(slots, maxPayload), ErrBadLayout)
	}
	r := newRegion(b)
	if !r.aligned() {
		return fmt.Errorf("region not %d-byte aligned: %w", CacheLine, ErrBadLayout)
	}
	clear(b[:mpmcSlotsOffset])
	ss := MPMCSlotSize(maxPayload)
	for i := 0; i < slots; i++ {
		r.store64(mpmcSlotsOffset+i*ss+slotSeqOffset, uint64(i))
		r.store64(mpmcSlotsOffset+i*ss+slotOwnerOffset, noProducer)
	}
	m := mpmcMetaOffset
	r.store64(m+metaCapacityOffset, uint64(slots))
	r.store32(m+metaMaxPayloadOffset, uint32(maxPayload))
	r.store32(m+metaSlotSizeOffset, uint32(ss))
	r.store32(m+metaVersionOffset, LayoutVersion)
	r.store32(m+metaMagicOffset, mpmcMagic) // last: marks the ring ready
	return nil
}

// mpmc holds what both sides of an MPMC ring share.
type mpmc struct {
	r        region
	slots    uint64
	mask     uint64
	slotSize int
	maxPay   int
	bell     *ipc.Doorbell // consumers park here
	roomBell *ipc.Doorbell // producers wait for room here
	o        options
}

func attachMPMC(b []byte, opts []Option) (mpmc, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return mpmc{}, err
	}
	if len(b) < mpmcSlotsOffset {
		return mpmc{}, fmt.Errorf("region of %d bytes is shorter than the ring header (%d): %w", len(b), mpmcSlotsOffset, ErrBadLayout)
	}
	r := newRegion(b)
	if !r.aligned() {
		return mpmc{}, fmt.Errorf("region not %d-byte aligned: %w", CacheLine, ErrBadLayout)
	}
	m := mpmcMetaOffset
	if v := r.load32(m + metaMagicOffset); v != mpmcMagic {
		return mpmc{}, fmt.Errorf("magic %#x is not an MPMC ring (%#x): %w", v, mpmcMagic, ErrBadLayout)
	}
	if v := r.load32(m + metaVersionOffset); v != LayoutVersion {
		return mpmc{}, fmt.Errorf("ring layout version %d, this build reads %d: %w", v, LayoutVersion, ErrBadLayout)
	}
	slots, maxPay, ss := r.load64(m+metaCapacityOffset), int(r.load32(m+metaMaxPayloadOffset)), int(r.load32(m+metaSlotSizeOffset))
	if slots < 2 || slots > 1<<30 || bits.OnesCount64(slots) != 1 || maxPay > 1<<24 || ss != MPMCSlotSize(maxPay) {
		return mpmc{}, fmt.Errorf("geometry slots=%d maxPayload=%d slotSize=%d is inconsistent: %w", slots, maxPay, ss, ErrBadLayout)
	}
	if len(b) < MPMCSize(int(slots), maxPay) {
		return mpmc{}, fmt.Errorf("region of %d bytes, ring needs %d: %w", len(b), MPMCSize(int(slots), maxPay), ErrBadLayout)
	}
	bell, err := ipc.NewDoorbell(b[mpmcConsumerBellOffset:])
	if err != nil {
		return mpmc{}, err
	}
	roomBell, err := ipc.NewDoorbell(b[mpmcProducerBellOffset:])
	if err != nil {
		return mpmc{}, err
	}
	return mpmc{r: r, slots: slots, mask: slots - 1, slotSize: ss, maxPay: maxPay, bell: bell, roomBell: roomBell, o: o}, nil
}

func (q *mpmc) slot(pos uint64) int { return mpmcSlotsOffset + int(pos&q.mask)*q.slotSize }

// ownerOf returns the live-or-dead identity of the producer recorded in the
// slot for pos, and false when the owner word is stale or empty (the
// producer died between its claim and recording itself).
func (q *mpmc) ownerOf(so int, pos uint64) (ipc.Process, bool) {
	w := q.r.load64(so + slotOwnerOffset)
	idx := w & 0xFF
	if w>>8 != pos&(1<<56-1) || idx >= MaxProducers {
		return ipc.Process{}, false
	}
	p := ownerAt(q.r, mpmcProducersOffset+int(idx)*producerEntrySize)
	return p, p.PID != 0
}

func (q *mpmc) count(off int) { q.r.add64(mpmcCountersOffset+off, 1) }

// MPMCStats is a snapshot of an MPMC ring's shared counters.
type MPMCStats struct {
	Slots, MaxPayload int
	Enqueued          uint64 // enqueue position: claims ever made
	Dequeued          uint64 // dequeue position
	RecoveredClaims   uint64 // claims revoked from dead or stalled producers
	RecoveredReads    uint64 // records lost with a dead consumer: claimed, never freed, freed for it
	Full              uint64
}

// ReadMPMCStats reads the counters of the MPMC ring in b.
func ReadMPMCStats(b []byte) (MPMCStats, error) {
	q, err := attachMPMC(b, nil)
	if err != nil {
		return MPMCStats{}, err
	}
	return q.stats(), nil
}

func (q *mpmc) stats() MPMCStats {
	return MPMCStats{
		Slots: int(q.slots), MaxPayload: q.maxPay,
		Enqueued:        q.r.load64(mpmcEnqueueOffset),
		Dequeued:        q.r.load64(mpmcDequeueOffset),
		RecoveredClaims: q.r.load64(mpmcCountersOffset + ctrRecoveredClaimsOffset),
		RecoveredReads:  q.r.load64(mpmcCountersOffset + ctrRecoveredReadsOffset),
		Full:            q.r.load64(mpmcCountersOffset + ctrFullOffset),
	}
}
