package ring

import (
	"fmt"
	"sort"
	"testing"

	"github.com/shmbus/shmbus/ipc"
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
	for i := 0; i < MaxConsumers; i++ {
		// Each consumer writes its run word once per run: a block of its own.
		fields = append(fields, field{fmt.Sprintf("consumer %d", i), consumerEntry(i), consumerEntrySize, BlockSize, true})
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
	entry := []field{
		{"owner", consumerOwnerOffset, 8, 8, false},
		{"run", consumerRunOffset, 8, 8, false},
	}
	checkFields(t, "mpmc consumer entry", entry, consumerEntrySize)
	if consumerEnd > consumerEntrySize || ownerEnd != 8 {
		t.Errorf("consumer entry fields end at %d, entry is %d bytes", consumerEnd, consumerEntrySize)
	}
	if mpmcSlotsOffset%BlockSize != 0 {
		t.Errorf("slots start at %d, not on a block", mpmcSlotsOffset)
	}
}

// TestRunWord checks the run word's fields: the count holds maxRun, the
// position field wraps at 2^57, and a run covers exactly its positions,
// also across the wrap of the position field and of 64-bit positions.
func TestRunWord(t *testing.T) {
	if maxRun >= 1<<runCountBits || runPosBits+runCountBits > 63 {
		t.Fatalf("run word: %d position bits + %d count bits, max run %d", runPosBits, runCountBits, maxRun)
	}
	if runCount(0) != 0 {
		t.Fatal("the zero word is a run")
	}
	for _, p := range []uint64{0, 5, 1<<runPosBits - 3, 1 << runPosBits, 1<<56 - 1, ^uint64(0) - 7, ^uint64(0)} {
		for _, k := range []uint64{1, 7, maxRun} {
			w := packRun(p, k)
			if runCount(w) != k {
				t.Errorf("packRun(%#x, %d): count %d", p, k, runCount(w))
			}
			for d := uint64(0); d < maxRun+2; d++ {
				if got, want := runCovers(w, p+d), d < k; got != want {
					t.Errorf("run (%#x, %d) covers %#x: %v, want %v", p, k, p+d, got, want)
				}
			}
			if runCovers(w, p-1) || runCovers(w, p+1<<runPosBits+k) {
				t.Errorf("run (%#x, %d) covers a position outside it", p, k)
			}
		}
	}
}

// TestDoorbellLayout checks the doorbell offsets the ring writes directly
// (resetWaiters) against ipc.Doorbell itself.
func TestDoorbellLayout(t *testing.T) {
	if bellEnd != ipc.DoorbellSize {
		t.Fatalf("doorbell fields end at %d, ipc.DoorbellSize is %d", bellEnd, ipc.DoorbellSize)
	}
	b := alignedBuf(BlockSize)
	bell, err := ipc.NewDoorbell(b)
	if err != nil {
		t.Fatal(err)
	}
	r := newRegion(b)
	r.store32(bellWaitersOffset, 3)
	if bell.Waiters() != 3 || r.load32(bellSeqOffset) != 0 {
		t.Fatalf("waiters word at %d: doorbell reports %d waiters", bellWaitersOffset, bell.Waiters())
	}
	if resetWaiters(r, 0); bell.Waiters() != 0 {
		t.Fatalf("after resetWaiters the doorbell reports %d waiters", bell.Waiters())
	}
	r.store32(bellWaitersOffset, 1)
	bell.Ring() // a ring with a waiter recorded bumps seq
	if r.load32(bellSeqOffset) != 1 {
		t.Fatalf("seq word at %d is %d after a ring, want 1", bellSeqOffset, r.load32(bellSeqOffset))
	}
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
