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
