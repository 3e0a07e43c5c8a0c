package bus

import (
	"encoding/binary"
	"sync"
	"testing"
)

// Many goroutines publish through one Conn with a small ring, so that they
// keep waiting for room (letting go of the producer lock while they wait);
// each goroutine's messages arrive complete and in its order.
func TestConcurrentPublishers(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	pub := connect(t, dir, WithRingSize(8192, 8192), WithPublishTimeout(waitLimit))
	sub := connect(t, dir, WithRingSize(1<<20, 1<<22))
	const writers, each = 8, 2000
	s, _ := sub.SubscribeSync("c.>", WithPendingLimit(writers*each), WithBlock(waitLimit))
	sub.Flush()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b [16]byte
			for i := range each {
				binary.LittleEndian.PutUint64(b[:], uint64(w))
				binary.LittleEndian.PutUint64(b[8:], uint64(i))
				if err := pub.Publish("c.x", b[:]); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Subscribe and unsubscribe meanwhile, through the same lock.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			x, err := pub.Subscribe("other", func(*Msg) {})
			if err != nil {
				t.Error(err)
				return
			}
			x.Unsubscribe()
		}
	}()
	wg.Wait()
	next := make([]uint64, writers)
	for range writers * each {
		m, err := s.NextMsg(waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		w, i := binary.LittleEndian.Uint64(m.Data), binary.LittleEndian.Uint64(m.Data[8:])
		if i != next[w] {
			t.Fatalf("writer %d: message %d after %d", w, i, next[w]-1)
		}
		next[w]++
	}
}
