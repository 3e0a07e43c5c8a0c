package ring

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shmbus/shmbus/ipc"
)

// A takeover from a dead owner must let exactly one of several racing live
// processes win (the owner word is claimed with one CAS).
func TestOwnerTakeoverRace(t *testing.T) {
	dead := ipc.Process{PID: 4242, StartTime: 7}
	rounds := 2000
	if testing.Short() {
		rounds = 200
	}
	for round := 0; round < rounds; round++ {
		b := newSPSC(t, MinCapacity)
		newRegion(b).store64(spscOwnersOffset+ownersProducerOffset, packOwner(dead))
		live := func(p ipc.Process) bool { return p != dead }
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, me := range []ipc.Process{procA, procB, procC} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := NewProducer(b, WithIdentity(me), WithLiveness(live)); err == nil {
					wins.Add(1)
				} else if !errors.Is(err, ErrAttached) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if w := wins.Load(); w != 1 {
			t.Fatalf("round %d: %d producers attached over one dead owner", round, w)
		}
	}
}

// A live owner whose identity differs only in start time from ours is
// another process (or a recycled PID): attaching must fail, not take over.
func TestOwnerLiveWithOtherStartTime(t *testing.T) {
	b := newSPSC(t, MinCapacity)
	other := ipc.Process{PID: procA.PID, StartTime: procA.StartTime + 12345}
	newRegion(b).store64(spscOwnersOffset+ownersProducerOffset, packOwner(other))
	live := func(p ipc.Process) bool { return p == other }
	if _, err := NewProducer(b, WithIdentity(procA), WithLiveness(live)); !errors.Is(err, ErrAttached) {
		t.Fatalf("attach over a live owner: %v, want ErrAttached", err)
	}
}

func TestOwnerWordRoundTrip(t *testing.T) {
	for _, p := range []ipc.Process{{PID: 1, StartTime: 1}, {PID: 1<<22 - 1, StartTime: 1<<42 - 1}, ipc.Self()} {
		if got := unpackOwner(packOwner(p)); got != p {
			t.Errorf("%+v round-trips to %+v", p, got)
		}
	}
	if _, err := applyOptions([]Option{WithIdentity(ipc.Process{PID: 1 << 22, StartTime: 1})}); !errors.Is(err, ipc.ErrInvalidOption) {
		t.Errorf("PID 2^22 accepted: %v", err)
	}
}

// A process killed while parked in a doorbell's Wait leaves the waiter count
// raised. An SPSC doorbell has one waiting side, so a new owner taking that
// side over from a dead one resets it: the consumer's takeover the consumer
// doorbell, the producer's the producer (room) doorbell. Each leaves the
// other side's doorbell alone, and an attach over a live owner resets
// nothing.
func TestSPSCTakeoverResetsDoorbellWaiters(t *testing.T) {
	for _, tc := range []struct {
		side      string
		owner     int // owner word offset in the owners block
		bell      int // the side's own doorbell
		otherBell int
		attach    func(b []byte, opts ...Option) error
	}{
		{"consumer", ownersConsumerOffset, spscConsumerBellOffset, spscProducerBellOffset,
			func(b []byte, opts ...Option) error { _, err := NewConsumer(b, opts...); return err }},
		{"producer", ownersProducerOffset, spscProducerBellOffset, spscConsumerBellOffset,
			func(b []byte, opts ...Option) error { _, err := NewProducer(b, opts...); return err }},
	} {
		t.Run(tc.side, func(t *testing.T) {
			b := newSPSC(t, MinCapacity)
			r := newRegion(b)
			live := liveSet{procA: true, procB: true, procC: true}
			r.store64(spscOwnersOffset+tc.owner, packOwner(procA)) // parked in Wait ...
			r.store32(tc.bell+bellWaitersOffset, 1)
			r.store32(tc.otherBell+bellWaitersOffset, 1) // ... and a waiter of the other side
			if err := tc.attach(b, WithIdentity(procB), WithLiveness(live.alive)); !errors.Is(err, ErrAttached) {
				t.Fatalf("attach over a live owner: %v, want ErrAttached", err)
			}
			if w := r.load32(tc.bell + bellWaitersOffset); w != 1 {
				t.Fatalf("failed attach changed the waiter count to %d", w)
			}
			live[procA] = false // ... and killed there
			if err := tc.attach(b, WithIdentity(procB), WithLiveness(live.alive)); err != nil {
				t.Fatalf("takeover: %v", err)
			}
			bell, err := ipc.NewDoorbell(b[tc.bell:])
			if err != nil {
				t.Fatal(err)
			}
			if w := bell.Waiters(); w != 0 {
				t.Fatalf("%s doorbell has %d waiters after the takeover, want 0", tc.side, w)
			}
			if bell.Ring() {
				t.Fatal("a ring after the takeover made the wake syscall")
			}
			if w := r.load32(tc.otherBell + bellWaitersOffset); w != 1 {
				t.Fatalf("the other side's doorbell waiters went to %d, want it left at 1", w)
			}
		})
	}
}
