package ring

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func newMPMC(t testing.TB, slots, maxPay int) []byte {
	t.Helper()
	b := alignedBuf(MPMCSize(slots, maxPay))
	if err := InitMPMC(b, slots, maxPay); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMPMCBasic(t *testing.T) {
	b := newMPMC(t, 8, 64)
	p, err := NewMPMCProducer(b, WithIdentity(procA))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewMPMCConsumer(b, WithIdentity(procB))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if err := p.Write(uint16(i+1), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Write(1, nil); !errors.Is(err, ErrFull) {
		t.Fatalf("ninth write: %v", err)
	}
	if p.Ready() {
		t.Fatal("producer Ready on a full ring")
	}
	if _, err := p.Claim(1, 65); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversize: %v", err)
	}
	next := 0
	h := func(typ, _ uint16, pl []byte) {
		if typ != uint16(next+1) || len(pl) != 1 || pl[0] != byte(next) {
			t.Errorf("record %d: type %d payload %v", next, typ, pl)
		}
		next++
	}
	if n := c.Read(h, 3); n != 3 {
		t.Fatalf("read %d", n)
	}
	buf, _ := p.Claim(1, 4)
	copy(buf, "skip")
	p.Abort()
	if n := c.Read(h, 0); n != 5 {
		t.Fatalf("read %d, want 5 (the aborted slot is skipped)", n)
	}
	if c.Ready() {
		t.Fatal("consumer Ready on an empty ring")
	}
	if s := c.Stats(); s.Enqueued != 9 || s.Dequeued != 9 || s.Full == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestMPMCBadRegion(t *testing.T) {
	if err := InitMPMC(alignedBuf(MPMCSize(8, 64)), 6, 64); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("non power of two: %v", err)
	}
	if _, err := NewMPMCConsumer(alignedBuf(MPMCSize(8, 64))); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("unformatted: %v", err)
	}
	b := newMPMC(t, 8, 64)
	if _, err := NewMPMCConsumer(b[:MPMCSize(8, 64)-1]); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := NewConsumer(b); !errors.Is(err, ErrBadLayout) {
		t.Fatalf("MPMC region opened as SPSC: %v", err)
	}
}

func TestMPMCCorruptLength(t *testing.T) {
	b := newMPMC(t, 4, 64)
	p, _ := NewMPMCProducer(b, WithIdentity(procA))
	c, _ := NewMPMCConsumer(b, WithIdentity(procB))
	p.Write(1, []byte("x"))
	newRegion(b).store64(mpmcSlotsOffset+slotHeaderOffset, makeHeader(1000, 1, 0))
	p.Write(1, []byte("y"))
	var got []string
	n := c.Read(func(_, _ uint16, pl []byte) { got = append(got, string(pl)) }, 0)
	if n != 1 || got[0] != "y" || !errors.Is(c.Err(), ErrCorrupt) {
		t.Fatalf("got %v (n=%d), err %v: want only y and ErrCorrupt", got, n, c.Err())
	}
}

func TestMPMCTooManyProducers(t *testing.T) {
	b := newMPMC(t, 4, 8)
	for i := 0; i < MaxProducers; i++ {
		if _, err := NewMPMCProducer(b); err != nil {
			t.Fatalf("producer %d: %v", i, err)
		}
	}
	if _, err := NewMPMCProducer(b); !errors.Is(err, ErrTooManyProducers) {
		t.Fatalf("producer %d: %v", MaxProducers+1, err)
	}
}

// TestMPMCDeadProducerRecovered: a producer dies holding a claim; the next
// records (from another producer) are behind it. The consumer revokes the
// claim as soon as it sees the owner dead, long before the stuck timeout.
func TestMPMCDeadProducerRecovered(t *testing.T) {
	b := newMPMC(t, 8, 32)
	live := liveSet{procA: true, procB: true, procC: true}
	opts := []Option{WithLiveness(live.alive), WithStuckTimeout(time.Hour)}
	dead, _ := NewMPMCProducer(b, append(opts, WithIdentity(procA))...)
	other, _ := NewMPMCProducer(b, append(opts, WithIdentity(procB))...)
	c, _ := NewMPMCConsumer(b, append(opts, WithIdentity(procC))...)
	if _, err := dead.Claim(1, 8); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 7; i++ {
		if err := other.Write(2, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	h := func(typ, _ uint16, pl []byte) {}
	if n := readFor(c, h, 50*time.Millisecond, 7); n != 0 {
		t.Fatalf("read %d past a live producer's claim", n)
	}
	live[procA] = false
	if n := readFor(c, h, 10*time.Second, 7); n != 7 {
		t.Fatalf("read %d after the owner died, want 7", n)
	}
	if s := c.Stats(); s.RecoveredClaims != 1 {
		t.Fatalf("recovered %d claims, want 1", s.RecoveredClaims)
	}
	// The dead producer's slot is free again: the ring takes a full lap.
	for i := 0; i < 8; i++ {
		if err := other.Write(2, []byte{byte(i)}); err != nil {
			t.Fatalf("write %d after recovery: %v", i, err)
		}
	}
}

// TestMPMCStalledProducerRevoked: a live producer stalls past the timeout;
// its claim is revoked, consumers go on, the slot stays quarantined until
// the stalled producer's Commit fails with ErrClaimRevoked and frees it.
func TestMPMCStalledProducerRevoked(t *testing.T) {
	b := newMPMC(t, 4, 32)
	live := liveSet{procA: true, procB: true, procC: true}
	opts := []Option{WithLiveness(live.alive), WithStuckTimeout(20 * time.Millisecond)}
	slow, _ := NewMPMCProducer(b, append(opts, WithIdentity(procA))...)
	fast, _ := NewMPMCProducer(b, append(opts, WithIdentity(procB))...)
	c, _ := NewMPMCConsumer(b, append(opts, WithIdentity(procC))...)
	buf, _ := slow.Claim(1, 8)
	fast.Write(2, []byte("a"))
	if n := readFor(c, func(uint16, uint16, []byte) {}, 10*time.Second, 1); n != 1 {
		t.Fatalf("read %d, want the record behind the stalled claim", n)
	}
	for i := 0; i < 2; i++ { // slots of positions 2 and 3; position 4 is the quarantined one
		if err := fast.Write(2, []byte("b")); err != nil {
			t.Fatal(err)
		}
	}
	if err := fast.Write(2, []byte("c")); !errors.Is(err, ErrFull) {
		t.Fatalf("write into the quarantined slot: %v, want ErrFull", err)
	}
	copy(buf, "late") // the stalled producer wakes up and writes
	if err := slow.Commit(); !errors.Is(err, ErrClaimRevoked) {
		t.Fatalf("stalled commit: %v, want ErrClaimRevoked", err)
	}
	if n := c.Read(func(uint16, uint16, []byte) {}, 0); n != 2 {
		t.Fatalf("read %d, want 2", n)
	}
	if err := fast.Write(2, []byte("d")); err != nil {
		t.Fatalf("write after the slot was freed: %v", err)
	}
}

// readFor polls until want records arrived or d passed.
func readFor(c *MPMCConsumer, h Handler, d time.Duration, want int) int {
	n := 0
	for deadline := time.Now().Add(d); n < want && time.Now().Before(deadline); {
		if m := c.Read(h, 0); m == 0 {
			time.Sleep(50 * time.Microsecond)
		} else {
			n += m
		}
	}
	return n
}

// TestMPMCStress: many producer and consumer goroutines; every record is
// seen exactly once, and each consumer sees each producer's records in order.
func TestMPMCStress(t *testing.T) {
	const producers, consumers = 4, 4
	per := uint64(50_000)
	if testing.Short() {
		per = 5_000
	}
	b := newMPMC(t, 64, 48)
	seen := make([][]uint32, producers)
	for i := range seen {
		seen[i] = make([]uint32, per)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < producers; i++ {
		p, err := NewMPMCProducer(b)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			for seq := uint64(0); seq < per; {
				buf, err := p.Claim(1, 16+int(seq%32))
				if err != nil {
					continue
				}
				putSeq(buf, id, seq)
				if err := p.Commit(); err != nil {
					t.Error(err)
					return
				}
				seq++
			}
		}(uint64(i))
	}
	var total sync.WaitGroup
	remaining := int64(producers * per)
	for i := 0; i < consumers; i++ {
		c, _ := NewMPMCConsumer(b)
		total.Add(1)
		go func() {
			defer total.Done()
			last := make([]int64, producers)
			for j := range last {
				last[j] = -1
			}
			h := func(_, _ uint16, pl []byte) {
				prod, seq := getSeq(t, pl)
				if int64(seq) <= last[prod] {
					t.Errorf("producer %d seq %d after %d", prod, seq, last[prod])
				}
				last[prod] = int64(seq)
				mu.Lock()
				seen[prod][seq]++
				remaining--
				mu.Unlock()
			}
			for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
				c.Read(h, 16)
				mu.Lock()
				r := remaining
				mu.Unlock()
				if r == 0 {
					return
				}
			}
			t.Error("consumer timed out")
		}()
	}
	wg.Wait()
	total.Wait()
	for p := range seen {
		for s, n := range seen[p] {
			if n != 1 {
				t.Fatalf("producer %d seq %d seen %d times", p, s, n)
			}
		}
	}
}
