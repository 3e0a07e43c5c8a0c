package ring

import (
	"fmt"
	"math/bits"
)

// MinCapacity and MaxCapacity bound an SPSC ring's data capacity (bytes).
const (
	MinCapacity = 1 << 10
	MaxCapacity = 1 << 40
)

// SPSCSize returns the region size needed for an SPSC ring whose data area
// holds capacity bytes (a power of two, MinCapacity..MaxCapacity).
func SPSCSize(capacity int) int { return spscDataOffset + capacity }

// SPSCMaxPayload is the largest payload an SPSC ring of this capacity takes:
// an eighth of the capacity, so a record plus a wrap's padding always fits
// beside other records (Agrona's rule).
func SPSCMaxPayload(capacity int) int { return capacity/8 - HeaderLength }

// InitSPSC formats region as an empty SPSC ring with the given data capacity.
// The region must be zeroed beyond the meta block (a fresh mapping is) and
// must not be in use: this is the creator's job, done once.
func InitSPSC(region []byte, capacity int) error {
	if err := checkCapacity(capacity); err != nil {
		return err
	}
	if len(region) < SPSCSize(capacity) {
		return fmt.Errorf("region of %d bytes, ring needs %d: %w", len(region), SPSCSize(capacity), ErrBadLayout)
	}
	r := newRegion(region)
	if !r.aligned() {
		return fmt.Errorf("region not %d-byte aligned: %w", CacheLine, ErrBadLayout)
	}
	clear(region[:spscDataOffset])
	clear(region[spscDataOffset : spscDataOffset+HeaderLength]) // first record header
	r.store64(spscMetaOffset+metaCapacityOffset, uint64(capacity))
	r.store32(spscMetaOffset+metaMaxPayloadOffset, uint32(SPSCMaxPayload(capacity)))
	r.store32(spscMetaOffset+metaVersionOffset, LayoutVersion)
	r.store32(spscMetaOffset+metaMagicOffset, spscMagic) // last: marks the ring ready
	return nil
}

func checkCapacity(capacity int) error {
	if capacity < MinCapacity || capacity > MaxCapacity || bits.OnesCount64(uint64(capacity)) != 1 {
		return fmt.Errorf("capacity %d is not a power of two in [%d, %d]: %w", capacity, MinCapacity, MaxCapacity, ErrBadLayout)
	}
	return nil
}

// spscGeometry validates an SPSC region on attach and returns its capacity.
func spscGeometry(b []byte) (region, int, error) {
	if len(b) < spscDataOffset {
		return region{}, 0, fmt.Errorf("region of %d bytes is shorter than the ring header (%d): %w", len(b), spscDataOffset, ErrBadLayout)
	}
	r := newRegion(b)
	if !r.aligned() {
		return region{}, 0, fmt.Errorf("region not %d-byte aligned: %w", CacheLine, ErrBadLayout)
	}
	if m := r.load32(spscMetaOffset + metaMagicOffset); m != spscMagic {
		return region{}, 0, fmt.Errorf("magic %#x is not an SPSC ring (%#x): %w", m, spscMagic, ErrBadLayout)
	}
	if v := r.load32(spscMetaOffset + metaVersionOffset); v != LayoutVersion {
		return region{}, 0, fmt.Errorf("ring layout version %d, this build reads %d: %w", v, LayoutVersion, ErrBadLayout)
	}
	c := r.load64(spscMetaOffset + metaCapacityOffset)
	if c > MaxCapacity {
		return region{}, 0, fmt.Errorf("capacity %d out of range: %w", c, ErrBadLayout)
	}
	capacity := int(c)
	if err := checkCapacity(capacity); err != nil {
		return region{}, 0, err
	}
	if len(b) < SPSCSize(capacity) {
		return region{}, 0, fmt.Errorf("region of %d bytes, capacity %d needs %d: %w", len(b), capacity, SPSCSize(capacity), ErrBadLayout)
	}
	if mp := r.load32(spscMetaOffset + metaMaxPayloadOffset); int(mp) != SPSCMaxPayload(capacity) {
		return region{}, 0, fmt.Errorf("max payload %d, capacity %d implies %d: %w", mp, capacity, SPSCMaxPayload(capacity), ErrBadLayout)
	}
	if h := r.load64(spscHeadOffset); h%RecordAlignment != 0 {
		return region{}, 0, fmt.Errorf("head position %d is not %d-aligned: %w", h, RecordAlignment, ErrCorrupt)
	}
	return r, capacity, nil
}

// SPSCStats is a snapshot of an SPSC ring's shared counters, readable by any
// process without disturbing the two sides.
type SPSCStats struct {
	Capacity        int
	Head, Tail      uint64 // consumer and (advisory) producer positions
	RecoveredClaims uint64 // claims abandoned by a dead producer, discarded on takeover
	RecoveredBytes  uint64
	ProducerAttach  uint64
	ConsumerAttach  uint64
	Full            uint64 // claims refused for lack of room
}

// Used is the number of bytes written but not yet consumed.
func (s SPSCStats) Used() uint64 {
	if s.Tail < s.Head {
		return 0
	}
	return s.Tail - s.Head
}

// ReadSPSCStats reads the counters of the SPSC ring in b.
func ReadSPSCStats(b []byte) (SPSCStats, error) {
	r, capacity, err := spscGeometry(b)
	if err != nil {
		return SPSCStats{}, err
	}
	return spscStats(r, capacity), nil
}

// spscStats reads the counters of an already validated ring.
func spscStats(r region, capacity int) SPSCStats {
	c := spscCountersOffset
	return SPSCStats{
		Capacity:        capacity,
		Head:            r.load64(spscHeadOffset),
		Tail:            r.load64(spscTailOffset),
		RecoveredClaims: r.load64(c + ctrRecoveredClaimsOffset),
		RecoveredBytes:  r.load64(c + ctrRecoveredBytesOffset),
		ProducerAttach:  r.load64(c + ctrProducerAttachOffset),
		ConsumerAttach:  r.load64(c + ctrConsumerAttachOffset),
		Full:            r.load64(c + ctrFullOffset),
	}
}

// resetWaiters clears the waiter count of the SPSC doorbell at off, for a
// side taken over from a dead owner. Each SPSC doorbell has exactly one
// waiting side (the consumer parks on the consumer doorbell, the producer on
// the producer doorbell), so a count still raised when a new owner takes
// that side over was left by the dead owner, killed inside Wait before it
// could decrement it: left alone, it would make every later Ring a futex
// syscall. ipc.Doorbell has no reset, so the word is written here through
// its known place in the doorbell layout (bellWaitersOffset, checked against
// ipc.Doorbell in layout_test.go). The new owner has not parked yet, and
// the dead one never decrements again.
func resetWaiters(r region, off int) { r.store32(off+bellWaitersOffset, 0) }
