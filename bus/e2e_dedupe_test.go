package bus

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// In-process tests of duplicate suppression (dedupe.go); the multi-process
// one is TestE2ERouterKilledUnderLoad.

func msgID(pub, seq uint64) uint64 { return pub<<seqBits | seq }

func TestSeqFilter(t *testing.T) {
	var f seqFilter
	steps := []struct {
		id   uint64
		want bool
	}{
		{msgID(1, 1), true},
		{msgID(1, 2), true},
		{msgID(1, 2), false}, // a repeat
		{msgID(1, 1), false}, // an older one
		{msgID(2, 1), true},  // another publisher has its own sequence
		{msgID(1, 5), true},  // a gap (dropped for a slow consumer) is fine
		{msgID(1, 4), false},
		{0, true}, // router-made: always
		{0, true},
		{msgID(maxPublisher, 1), true}, // the largest id
		{msgID(maxPublisher, 1), false},
		{msgID(seqPageSize, seqMask), true}, // the largest sequence, on a second page
		{msgID(seqPageSize, seqMask), false},
		{msgID(2, 2), true},
	}
	for i, s := range steps {
		if got := f.admit(s.id); got != s.want {
			t.Fatalf("step %d: admit(%d<<40|%d) = %v, want %v", i, s.id>>seqBits, s.id&seqMask, got, s.want)
		}
	}
	if n, max := len(f.pages), maxPublisher>>seqPageBits+1; n != max {
		t.Fatalf("%d pages in the index, want %d", n, max)
	}
	used := 0
	for _, p := range f.pages {
		if p != nil {
			used++
		}
	}
	if used != 3 {
		t.Fatalf("%d pages allocated, want 3 (ids 1 and 2, %d, %d)", used, seqPageSize, maxPublisher)
	}
}

// Once a publisher's page exists, admitting its messages allocates nothing.
func TestSeqFilterDoesNotAllocate(t *testing.T) {
	var f seqFilter
	seq := uint64(1)
	f.admit(msgID(7, seq))
	if a := testing.AllocsPerRun(1000, func() {
		seq++
		f.admit(msgID(7, seq))
		f.admit(msgID(7, seq)) // and its repeat
		f.admit(0)
	}); a != 0 {
		t.Fatalf("%v allocs per message", a)
	}
}

// The dispatcher drops repeats per subscription and counts them: the same
// message delivered to two subscriptions of one Conn reaches both, a
// repeat on either is dropped, and router-made messages (ID 0) always pass.
func TestDispatcherDropsRepeats(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	var lit, wild collector
	sLit, _ := c.Subscribe("d.x", lit.handler)
	sWild, _ := c.Subscribe("d.*", wild.handler)
	c.Flush()
	send := func(s *Subscription, id uint64, data string) {
		m := wire.Msg{ID: id, SID: s.SID(), Topic: []byte("d.x"), Data: []byte(data)}
		b := make([]byte, m.Size())
		m.Encode(b)
		f.inject(wire.TypeMsg, b)
	}
	for _, s := range []*Subscription{sLit, sWild} {
		send(s, msgID(3, 1), "a")
		send(s, msgID(3, 2), "b")
		send(s, msgID(3, 2), "b again")
		send(s, msgID(3, 1), "a again")
		send(s, msgID(4, 1), "c")
		send(s, 0, "router")
		send(s, 0, "router again")
		send(s, msgID(3, 3), "d")
	}
	want := []string{"a", "b", "c", "router", "router again", "d"}
	for name, col := range map[string]*collector{"d.x": &lit, "d.*": &wild} {
		got := col.wait(t, len(want))
		c.Flush()
		if got = col.data(); len(got) != len(want) {
			t.Fatalf("%s got %q, want %q", name, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s got %q, want %q", name, got, want)
			}
		}
	}
	if st := c.Stats(); st.Duplicates != 4 || st.InMsgs != 16 {
		t.Fatalf("stats %+v: want 4 duplicates of 16", st)
	}
}

// The real router, in process, restarted while a publish is held back by a
// Block-policy subscriber: the record stays in the publisher's ring, the
// other subscriber already has it, and the next router routes it again.
// The repeat is dropped; what comes after is delivered.
func TestDedupeAcrossRouterRestart(t *testing.T) {
	dir := t.TempDir()
	r1 := startRouter(t, dir)
	ev := newEvents()
	// fast publishes the message and subscribes to it: a reconnecting
	// Conn's subscriptions are registered before the router reads its ring,
	// so the record read again is sure to reach fast's subscription.
	fast := connect(t, dir, ev.opts()...)
	var got collector
	fast.Subscribe("d.t", got.handler)
	release := make(chan struct{})
	var slowGot atomic.Int64
	slow := connect(t, dir, WithRingSize(1<<20, 4096), WithReconnectWait(time.Millisecond))
	held := func(*Msg) { <-release; slowGot.Add(1) }
	slow.Subscribe("fill", held) // Drop policy
	slow.Subscribe("d.t", held, WithBlock(waitLimit))
	slow.Flush()
	fill := connect(t, dir)
	for range 100 { // far more than slow's 4 KiB ring, whose reader is stuck
		fill.Publish("fill", make([]byte, 100))
	}
	fill.Flush()

	fast.Publish("d.t", make([]byte, 200)) // fits nowhere in slow's ring: held
	got.wait(t, 1)
	r1.Close()
	<-ev.disconnected
	startRouter(t, dir)
	<-ev.reconnected
	close(release) // let slow drain, so that the router gets past the record
	if err := fast.FlushTimeout(waitLimit); err != nil {
		t.Fatal(err)
	}
	if n, st := got.len(), fast.Stats(); n != 1 || st.Duplicates != 1 {
		t.Fatalf("fast got %d of the held message (want 1), stats %+v (want 1 duplicate)", n, st)
	}
	fast.Publish("d.t", []byte("next"))
	got.wait(t, 2)
	if d := got.data(); d[1] != "next" {
		t.Fatalf("after the repeat: %q", d)
	}
}
