package ring

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

func TestSPSCWriteRead(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	p, c := pair(t, b)
	for i := 0; i < 5; i++ {
		if err := p.Write(uint16(i+1), bytes.Repeat([]byte{byte(i)}, i*3)); err != nil {
			t.Fatal(err)
		}
	}
	var got []int
	n := c.Read(func(typ, flags uint16, payload []byte) {
		if len(payload) != int(typ-1)*3 || (len(payload) > 0 && payload[0] != byte(typ-1)) {
			t.Errorf("type %d: payload %v", typ, payload)
		}
		got = append(got, int(typ))
	}, 0)
	if n != 5 || len(got) != 5 {
		t.Fatalf("read %d records (%v), want 5", n, got)
	}
	if n := c.Read(func(uint16, uint16, []byte) { t.Error("unexpected record") }, 0); n != 0 {
		t.Fatalf("empty ring gave %d records", n)
	}
}

func TestSPSCLimitAndFlags(t *testing.T) {
	p, c := pair(t, newSPSC(t, MinCapacity))
	for i := 0; i < 4; i++ {
		buf, err := p.Claim(7, 1)
		if err != nil {
			t.Fatal(err)
		}
		buf[0] = byte(i)
		p.SetFlags(uint16(100 + i))
		p.Commit()
	}
	next := 0
	h := func(typ, flags uint16, payload []byte) {
		if typ != 7 || flags != uint16(100+next) || payload[0] != byte(next) {
			t.Errorf("record %d: type %d flags %d payload %v", next, typ, flags, payload)
		}
		next++
	}
	if n := c.Read(h, 3); n != 3 {
		t.Fatalf("limit 3 read %d", n)
	}
	if n := c.Read(h, 3); n != 1 {
		t.Fatalf("second read %d, want 1", n)
	}
}

func TestSPSCDeferredBatchInvisibleUntilFlush(t *testing.T) {
	p, c := pair(t, newSPSC(t, MinCapacity))
	for i := 0; i < 3; i++ {
		buf, _ := p.Claim(1, 8)
		buf[0] = byte(i)
		p.CommitDeferred()
	}
	if c.Ready() {
		t.Fatal("deferred records visible before Flush")
	}
	if n := c.Read(func(uint16, uint16, []byte) {}, 0); n != 0 {
		t.Fatalf("read %d records before Flush", n)
	}
	p.Flush()
	if !c.Ready() {
		t.Fatal("not ready after Flush")
	}
	if n := c.Read(func(uint16, uint16, []byte) {}, 0); n != 3 {
		t.Fatalf("read %d after Flush, want 3", n)
	}
}

func TestSPSCClaimErrors(t *testing.T) {
	p, _ := pair(t, newSPSC(t, MinCapacity))
	if _, err := p.Claim(1, p.MaxPayload()+1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize claim: %v", err)
	}
	if _, err := p.Claim(TypePadding, 1); err == nil {
		t.Fatal("claim with the padding type succeeded")
	}
	if _, err := p.Claim(1, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Claim(1, 1); !errors.Is(err, ErrClaimPending) {
		t.Fatalf("second claim: %v", err)
	}
}

func TestSPSCFullAndAbort(t *testing.T) {
	p, c := pair(t, newSPSC(t, MinCapacity))
	n := 0
	for ; n < MinCapacity; n++ {
		if err := p.Write(1, make([]byte, 56)); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	// 64-byte records, 8 bytes of slack kept: capacity/64 - 1 fit.
	if want := MinCapacity/64 - 1; n != want {
		t.Fatalf("wrote %d records before full, want %d", n, want)
	}
	if p.Ready() {
		t.Fatal("producer Ready while full")
	}
	if got := c.Read(func(uint16, uint16, []byte) {}, 1); got != 1 {
		t.Fatal("read after full failed")
	}
	if !p.Ready() {
		t.Fatal("producer not Ready after the consumer freed room")
	}
	if _, err := p.Claim(1, 56); err != nil {
		t.Fatal(err)
	}
	p.Abort()
	p.Flush()
	if got := c.Read(func(typ, _ uint16, _ []byte) {}, 0); got != n-1 {
		t.Fatalf("read %d after abort, want %d (the aborted record is skipped)", got, n-1)
	}
	if s := p.Stats(); s.Full == 0 || s.Used() != 0 {
		t.Fatalf("stats %+v: want Full > 0 and nothing used", s)
	}
}

func TestSPSCCorruptHeaderStopsConsumer(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  uint64
	}{
		{"short", makeHeader(4, 1, 0)},
		{"past end", makeHeader(MinCapacity+8, 1, 0)},
		{"over max payload", makeHeader(int32(SPSCMaxPayload(MinCapacity)+HeaderLength+8), 1, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newSPSC(t, MinCapacity)
			_, c := pair(t, b)
			newRegion(b).store64(spscDataOffset, tc.hdr)
			if n := c.Read(func(uint16, uint16, []byte) { t.Error("corrupt record delivered") }, 0); n != 0 {
				t.Fatalf("read %d", n)
			}
			if !errors.Is(c.Err(), ErrCorrupt) {
				t.Fatalf("Err() = %v, want ErrCorrupt", c.Err())
			}
		})
	}
}

func TestSPSCAttachOwnership(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	live := liveSet{procA: true, procB: true}
	p, err := NewProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewProducer(b, WithIdentity(procC), WithLiveness(live.alive)); !errors.Is(err, ErrAttached) {
		t.Fatalf("second producer while the first lives: %v", err)
	}
	if _, err := NewProducer(b, WithIdentity(procA), WithLiveness(live.alive)); !errors.Is(err, ErrAttached) {
		t.Fatalf("same process attaching twice: %v", err)
	}
	p.Close()
	p2, err := NewProducer(b, WithIdentity(procC), WithLiveness(live.alive))
	if err != nil {
		t.Fatalf("attach after Close: %v", err)
	}
	p2.Close()
	if _, err := NewProducer(b[:100]); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("short region: %v", err)
	}
	if _, err := NewConsumer(make([]byte, SPSCSize(MinCapacity)+CacheLine)[1:]); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("unformatted region: %v", err)
	}
}

// TestSPSCTakeoverAfterDeath: a producer dies between Claim and Commit; the
// consumer still gets every committed record, and a new producer takes over
// (the owner is dead), discards and counts the abandoned claim, and goes on.
func TestSPSCTakeoverAfterDeath(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	live := liveSet{procA: true, procB: true}
	p, err := NewProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(b, WithIdentity(procB), WithLiveness(live.alive))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	h := func(_, _ uint16, pl []byte) { _, s := getSeq(t, pl); got = append(got, s) }
	seq := uint64(0)
	for ; seq < 10; seq++ {
		buf, _ := p.Claim(1, 40)
		putSeq(buf, 1, seq)
		if seq%3 == 0 {
			p.Commit()
		} else {
			p.CommitDeferred()
		}
	}
	p.Flush()
	c.Read(h, 4) // the consumer is part-way through
	buf, _ := p.Claim(1, 40)
	copy(buf, "half written")
	live[procA] = false // p dies here, never to commit
	c.Read(h, 0)
	if len(got) != 10 {
		t.Fatalf("consumer got %d records, want the 10 committed", len(got))
	}
	p2, err := NewProducer(b, WithIdentity(procC), WithLiveness(live.alive))
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	if s := p2.Stats(); s.RecoveredClaims != 1 || s.RecoveredBytes != 48 {
		t.Fatalf("stats after takeover %+v: want one recovered claim of 48 bytes", s)
	}
	for ; seq < 200; seq++ {
		buf, err := p2.Claim(1, 40)
		if errors.Is(err, ErrFull) {
			c.Read(h, 0)
			seq--
			continue
		}
		putSeq(buf, 1, seq)
		p2.Commit()
	}
	c.Read(h, 0)
	for i, s := range got {
		if s != uint64(i) {
			t.Fatalf("record %d has seq %d", i, s)
		}
	}
	if len(got) != 200 {
		t.Fatalf("got %d records, want 200", len(got))
	}
}

// setPositions starts an empty ring at position pos, to test the wrap of
// the buffer and of the 64-bit positions themselves.
func setPositions(b []byte, pos uint64) {
	r := newRegion(b)
	r.store64(spscHeadOffset, pos)
	r.store64(spscTailOffset, pos)
}

// TestSPSCStress runs a producer and a consumer goroutine over a small ring
// with random record sizes, starting just before the 64-bit positions wrap:
// every record must arrive once, in order, intact.
func TestSPSCStress(t *testing.T) {
	nearWrap := uint64(0)
	nearWrap -= 3*MinCapacity - 8
	for _, start := range []uint64{0, nearWrap} {
		b := newSPSC(t, 4*MinCapacity)
		setPositions(b, start)
		p, c := pair(t, b)
		total := uint64(300_000)
		if testing.Short() {
			total = 30_000
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			rng := rand.New(rand.NewPCG(1, 2))
			for seq := uint64(0); seq < total; {
				buf, err := p.Claim(2, 16+rng.IntN(200))
				if err != nil {
					p.Flush()
					continue // full: spin (bounded by the consumer's progress)
				}
				putSeq(buf, 7, seq)
				if rng.IntN(4) == 0 {
					p.Commit()
				} else {
					p.CommitDeferred()
				}
				seq++
			}
			p.Flush()
		}()
		next := uint64(0)
		h := func(typ, _ uint16, pl []byte) {
			prod, s := getSeq(t, pl)
			if typ != 2 || prod != 7 || s != next {
				t.Fatalf("record: type %d producer %d seq %d, want seq %d", typ, prod, s, next)
			}
			next++
		}
		for next < total {
			if c.Read(h, 1+int(next%97)) == 0 {
				if c.Err() != nil {
					t.Fatal(c.Err())
				}
			}
		}
		<-done
		if c.Position()-start == 0 || c.Read(h, 0) != 0 {
			t.Fatal("positions did not move or extra records appeared")
		}
	}
}

func TestSPSCReadWhileLeavesRefusedRecord(t *testing.T) {
	p, c := pair(t, newSPSC(t, MinCapacity))
	for i := 0; i < 5; i++ {
		p.Write(1, []byte{byte(i)})
	}
	var got []byte
	n := c.ReadWhile(func(_, _ uint16, pl []byte) bool {
		if pl[0] == 2 {
			return false
		}
		got = append(got, pl[0])
		return true
	}, 0)
	if n != 2 || string(got) != "\x00\x01" {
		t.Fatalf("first pass: n=%d got %v", n, got)
	}
	c.Read(func(_, _ uint16, pl []byte) { got = append(got, pl[0]) }, 0)
	if string(got) != "\x00\x01\x02\x03\x04" {
		t.Fatalf("got %v: the refused record must be read next", got)
	}
}

func TestSPSCDeferredRelease(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	p, err := NewProducer(b, WithIdentity(procA))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(b, WithIdentity(procB), WithDeferredRelease())
	if err != nil {
		t.Fatal(err)
	}
	p.Write(1, []byte("x"))
	if n := c.Read(func(uint16, uint16, []byte) {}, 0); n != 1 {
		t.Fatalf("read %d", n)
	}
	if s := c.Stats(); s.Head != 0 {
		t.Fatalf("head %d published before Release", s.Head)
	}
	c.Release()
	if s := c.Stats(); s.Head != 16 {
		t.Fatalf("head %d after Release, want 16", s.Head)
	}
}

func TestSPSCTakeoverHealsGarbage(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	newRegion(b).store64(spscDataOffset, makeHeader(4, 1, 0)) // impossible length
	p, err := NewProducer(b, WithIdentity(procA))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(b, WithIdentity(procB))
	if err != nil {
		t.Fatal(err)
	}
	p.Write(1, []byte("after"))
	got := ""
	c.Read(func(_, _ uint16, pl []byte) { got = string(pl) }, 0)
	if got != "after" || c.Err() != nil {
		t.Fatalf("got %q, err %v: the producer's recovery must clear garbage at its tail", got, c.Err())
	}
}
