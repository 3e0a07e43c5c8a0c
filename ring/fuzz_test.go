package ring

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzSPSCRead fills an SPSC ring's data area and head with arbitrary bytes
// (a hostile or broken producer) and reads it. The consumer must never
// panic, never hand out a payload outside the ring, and either deliver
// well-formed records or stop with ErrCorrupt.
func FuzzSPSCRead(f *testing.F) {
	valid := make([]byte, 64)
	binary.LittleEndian.PutUint64(valid, makeHeader(20, 1, 0))
	binary.LittleEndian.PutUint64(valid[24:], makeHeader(8, 2, 3))
	f.Add(valid, uint16(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 1, 0, 0, 0}, uint16(0))          // huge length
	f.Add([]byte{4, 0, 0, 0, 1, 0, 0, 0}, uint16(0))                      // shorter than a header
	f.Add([]byte{0x18, 0, 0, 0, 0xff, 0xff, 0, 0}, uint16(1016))          // padding at the end
	f.Add([]byte{0x08, 0x04, 0, 0, 0xff, 0xff, 0, 0, 9, 9, 9}, uint16(0)) // padding spanning the ring
	f.Fuzz(func(t *testing.T, data []byte, start uint16) {
		b := newSPSC(t, MinCapacity)
		head := uint64(start) &^ (RecordAlignment - 1) % MinCapacity
		setPositions(b, head)
		copy(b[spscDataOffset+int(head):], data)
		copy(b[spscDataOffset:spscDataOffset+int(head)], data[min(len(data), MinCapacity-int(head)):])
		c, err := NewConsumer(b, WithIdentity(procB))
		if err != nil {
			t.Fatal(err)
		}
		lo, hi := spscDataOffset, spscDataOffset+MinCapacity
		for i := 0; i < 4; i++ {
			c.Read(func(typ, _ uint16, pl []byte) {
				if typ == TypePadding {
					t.Fatal("padding delivered")
				}
				if len(pl) > SPSCMaxPayload(MinCapacity) {
					t.Fatalf("payload of %d bytes", len(pl))
				}
				if len(pl) > 0 {
					off := int(uintptrOf(pl) - uintptrOf(b))
					if off < lo || off+len(pl) > hi {
						t.Fatalf("payload [%d,%d) outside the data area [%d,%d)", off, off+len(pl), lo, hi)
					}
				}
			}, 0)
		}
		if c.Position()%RecordAlignment != 0 {
			t.Fatalf("head %d misaligned", c.Position())
		}
	})
}

// FuzzMPMCRead does the same for an MPMC ring: arbitrary bytes over every
// slot (sequence words included) must never make a consumer panic or read
// outside its slot.
func FuzzMPMCRead(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		const slots, maxPay = 4, 24
		b := newMPMC(t, slots, maxPay)
		copy(b[mpmcSlotsOffset:], data)
		c, err := NewMPMCConsumer(b, WithIdentity(procB), WithLiveness(func(p ipcProcess) bool { return false }))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			c.Read(func(_, _ uint16, pl []byte) {
				if len(pl) > maxPay {
					t.Fatalf("payload of %d bytes", len(pl))
				}
			}, 0)
		}
	})
}

// FuzzMPMCRecover puts arbitrary bytes over an MPMC ring's consumer table
// and slots, and arbitrary enqueue and dequeue positions (consumers that
// died holding who knows what, or a hostile process), then lets producers
// and an attaching consumer recover from them with every owner dead. They
// must never panic or touch memory outside the ring.
func FuzzMPMCRecover(f *testing.F) {
	run := make([]byte, 16)
	binary.LittleEndian.PutUint64(run[8:], packRun(2, 3))
	f.Add(run, uint64(4), uint64(3))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(1<<57), ^uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, enq, deq uint64) {
		const slots, maxPay = 4, 24
		b := newMPMC(t, slots, maxPay)
		r := newRegion(b)
		// Interleave the fuzz bytes over the entries' first words and the slots.
		for i := 0; i+16 <= len(data) && i/16 < MaxConsumers; i += 16 {
			copy(b[consumerEntry(i/16):], data[i:i+16])
		}
		if len(data) > 16*MaxConsumers {
			copy(b[mpmcSlotsOffset:], data[16*MaxConsumers:])
		}
		r.store64(mpmcEnqueueOffset, enq)
		r.store64(mpmcDequeueOffset, deq)
		dead := WithLiveness(func(ipcProcess) bool { return false })
		p, err := NewMPMCProducer(b, WithIdentity(procA), dead)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			p.held = stuckCheckEvery // no rate limit
			p.lastCheck = time.Time{}
			if _, err := p.Claim(1, 8); err == nil {
				p.Abort()
			}
		}
		c, err := NewMPMCConsumer(b, WithIdentity(procB), dead)
		if err != nil {
			t.Fatal(err)
		}
		c.Read(func(_, _ uint16, pl []byte) {
			if len(pl) > maxPay {
				t.Fatalf("payload of %d bytes", len(pl))
			}
		}, 0)
	})
}
