package ipc

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewIdleStrategy(t *testing.T) {
	for name, want := range map[string]IdleStrategy{
		"spin": &BusySpin{}, "yield": Yield{}, "backoff": &Backoff{}, " Block ": &Block{},
	} {
		got, err := NewIdleStrategy(name)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if typeName(got) != typeName(want) {
			t.Errorf("%q: got %T, want %T", name, got, want)
		}
	}
	if _, err := NewIdleStrategy("nap"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("unknown name: %v", err)
	}
}

func typeName(v any) string {
	switch v.(type) {
	case *BusySpin:
		return "spin"
	case Yield:
		return "yield"
	case *Backoff:
		return "backoff"
	case *Block:
		return "block"
	}
	return "?"
}

func TestIdleAllocatesNothing(t *testing.T) {
	b := aligned(16)
	f := &flag{word: new(uint32), want: 1, db: newTestDoorbell(t, b)}
	for _, s := range []IdleStrategy{
		&BusySpin{}, Yield{},
		&Backoff{Spins: 2, Yields: 2, MinPark: time.Microsecond, MaxPark: 4 * time.Microsecond},
		&Block{Timeout: time.Microsecond},
	} {
		if a := testing.AllocsPerRun(50, func() {
			s.Idle(f)
			s.Idle(f)
			s.Idle(f)
			s.Idle(f)
			s.Idle(f)
			s.Reset()
		}); a != 0 {
			t.Errorf("%T allocates %v per run", s, a)
		}
	}
	// Parking without a doorbell sleeps.
	nb := &flag{word: new(uint32), want: 1}
	if a := testing.AllocsPerRun(10, func() { (&Block{Timeout: time.Microsecond}).Idle(nb) }); a != 0 {
		t.Errorf("Block without doorbell allocates %v", a)
	}
}

func TestBackoffPhases(t *testing.T) {
	f := &flag{word: new(uint32), want: 1, db: newTestDoorbell(t, aligned(8))}
	b := &Backoff{Spins: 3, Yields: 2, MinPark: time.Microsecond, MaxPark: 5 * time.Microsecond}
	waits0, _ := SyscallStats()
	for range 5 {
		b.Idle(f)
	}
	if w, _ := SyscallStats(); w != waits0 || b.park != 0 {
		t.Fatalf("parked during spin/yield phases (waits %d->%d, park %v)", waits0, w, b.park)
	}
	var parks []time.Duration
	for range 4 {
		b.Idle(f)
		parks = append(parks, b.park)
	}
	want := []time.Duration{2 * time.Microsecond, 4 * time.Microsecond, 5 * time.Microsecond, 5 * time.Microsecond}
	for i := range want {
		if parks[i] != want[i] {
			t.Fatalf("next park timeouts %v, want %v", parks, want)
		}
	}
	if w, _ := SyscallStats(); w == waits0 {
		t.Error("park phase made no futex wait")
	}
	b.Reset()
	if b.n != 0 || b.park != 0 {
		t.Errorf("Reset left n=%d park=%v", b.n, b.park)
	}
	// Defaults and skipped phases.
	d := &Backoff{Spins: -1, Yields: -1}
	d.Idle(&flag{word: new(uint32), want: 0, db: f.db}) // ready: returns at once
	if d.park != 2*DefaultMinPark {
		t.Errorf("default first park: next %v, want %v", d.park, 2*DefaultMinPark)
	}
}

func TestBlockWakesOnRing(t *testing.T) {
	b := aligned(8)
	d := newTestDoorbell(t, b)
	f := &flag{word: new(uint32), want: 1, db: d}
	done := make(chan struct{})
	go func() {
		s := &Block{Timeout: time.Hour}
		for !f.Ready() {
			s.Idle(f)
		}
		close(done)
	}()
	for d.Waiters() == 0 {
		time.Sleep(time.Millisecond)
	}
	atomic.StoreUint32(f.word, 1)
	d.Ring()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Block did not wake on Ring")
	}
}
