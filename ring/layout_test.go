package ring

import (
	"sort"
	"testing"
)

type field struct {
	name      string
	off, size int
	align     int  // required alignment of off
	exclusive bool // must own its whole block (written by one side, hot)
}

func checkFields(t *testing.T, kind string, fields []field, end int) {
	t.Helper()
	sort.Slice(fields, func(i, j int) bool { return fields[i].off < fields[j].off })
	for i, f := range fields {
		if f.off%f.align != 0 {
			t.Errorf("%s: %s at %d is not %d-aligned", kind, f.name, f.off, f.align)
		}
		if f.off+f.size > end {
			t.Errorf("%s: %s [%d,%d) runs past %d", kind, f.name, f.off, f.off+f.size, end)
		}
		if i > 0 {
			p := fields[i-1]
			if p.off+p.size > f.off {
				t.Errorf("%s: %s [%d,%d) overlaps %s at %d", kind, p.name, p.off, p.off+p.size, f.name, f.off)
			}
		}
		if f.exclusive {
			for _, g := range fields {
				if g.name != f.name && g.off/BlockSize == f.off/BlockSize {
					t.Errorf("%s: hot field %s shares its %d-byte block with %s", kind, f.name, BlockSize, g.name)
				}
			}
		}
	}
}

func TestSPSCLayout(t *testing.T) {
	fields := []field{
		{"meta", spscMetaOffset, metaEnd, BlockSize, false},
		{"tail", spscTailOffset, 8, BlockSize, true},
		{"head", spscHeadOffset, 8, BlockSize, true},
		{"consumer bell", spscConsumerBellOffset, 8, BlockSize, true},
		{"producer bell", spscProducerBellOffset, 8, BlockSize, true},
		{"producer owner", spscOwnersOffset + ownersProducerOffset, ownerEnd, CacheLine, false},
		{"consumer owner", spscOwnersOffset + ownersConsumerOffset, ownerEnd, CacheLine, false},
		{"counters", spscCountersOffset, ctrEnd, BlockSize, false},
		{"data", spscDataOffset, MinCapacity, BlockSize, false},
	}
	checkFields(t, "spsc", fields, SPSCSize(MinCapacity))
	if metaEnd > BlockSize || ownersConsumerOffset+ownerEnd > BlockSize || ctrEnd > BlockSize {
		t.Errorf("a block overflows: meta %d, owners %d, counters %d (block %d)", metaEnd, ownersConsumerOffset+ownerEnd, ctrEnd, BlockSize)
	}
}

func TestMPMCLayout(t *testing.T) {
	slots, maxPay := 4, 100
	ss := MPMCSlotSize(maxPay)
	fields := []field{
		{"meta", mpmcMetaOffset, metaEnd, BlockSize, false},
		{"enqueue", mpmcEnqueueOffset, 8, BlockSize, true},
		{"dequeue", mpmcDequeueOffset, 8, BlockSize, true},
		{"consumer bell", mpmcConsumerBellOffset, 8, BlockSize, true},
		{"producer bell", mpmcProducerBellOffset, 8, BlockSize, true},
		{"counters", mpmcCountersOffset, ctrEnd, BlockSize, false},
		{"producers", mpmcProducersOffset, MaxProducers * producerEntrySize, BlockSize, false},
	}
	for i := 0; i < slots; i++ {
		fields = append(fields, field{"slot", mpmcSlotsOffset + i*ss, ss, CacheLine, false})
	}
	checkFields(t, "mpmc", fields, MPMCSize(slots, maxPay))
	slot := []field{
		{"seq", slotSeqOffset, 8, 8, false},
		{"owner", slotOwnerOffset, 8, 8, false},
		{"header", slotHeaderOffset, 8, 8, false},
		{"reserved", slotReservedOffset, 8, 8, false},
		{"payload", slotPayloadOffset, maxPay, 8, false},
	}
	checkFields(t, "mpmc slot", slot, ss)
}

func TestRecordHeader(t *testing.T) {
	if hdrEnd != HeaderLength {
		t.Fatalf("header fields end at %d, HeaderLength is %d", hdrEnd, HeaderLength)
	}
	for _, c := range []struct {
		l        int32
		typ, flg uint16
	}{{8, 1, 0}, {-72, 0xFFFE, 0xFFFF}, {1 << 30, TypePadding, 7}, {0, 0, 0}} {
		l, typ, flg := splitHeader(makeHeader(c.l, c.typ, c.flg))
		if l != c.l || typ != c.typ || flg != c.flg {
			t.Errorf("round trip of %+v gave %d %d %d", c, l, typ, flg)
		}
	}
}
