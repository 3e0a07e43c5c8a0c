package bus

import (
	"syscall"
	"testing"
)

// Slow-consumer isolation across processes: a subscriber process that stops
// reading (SIGSTOP) must not stall anyone with the Drop policy, and with the
// Block policy must hold only the publishers of what it subscribed to.

// Drop: the publisher and a fast subscriber go on while a stopped
// subscriber's ring is full; the stopped one, once continued, got an
// in-order subset and was told how many it lost.
func TestE2ESlowConsumerDrop(t *testing.T) {
	b := newE2EBus(t)
	n := e2eScale(20000, 3000)
	fast := b.sub("fast", e2eSubSpec{Pattern: "slow.>", Block: waitLimit})
	slow := b.start("slow", "subscribe", e2eArgs{OutRing: 4096, Subs: []e2eSubSpec{{Pattern: "slow.>"}}})
	slow.signal(syscall.SIGSTOP)
	t.Cleanup(func() { slow.cmd.Process.Signal(syscall.SIGCONT) })

	pub := b.start("pub", "publish", e2eArgs{Pub: 1, Topics: []string{"slow.t"}, N: n, Filler: 100})
	if last := pub.done(); last != uint64(n) { // not held: it finished with slow stopped
		t.Fatalf("published %d, want %d", last, n)
	}
	e2eExpectRun(t, "fast subscriber, while slow was stopped", fast.finish().seqs(0, 1), 1, uint64(n))

	slow.signal(syscall.SIGCONT)
	r := slow.finishAccounted(n)
	got := r.seqs(0, 1)
	if bad := e2eCheckIncreasing(got); bad != "" {
		t.Fatalf("slow subscriber: %s", bad)
	}
	t.Logf("slow subscriber got %d, the router dropped %d of %d", len(got), r.Dropped[0], n)
	if len(got) >= n || r.Dropped[0] == 0 || len(got)+int(r.Dropped[0]) != n {
		t.Fatalf("slow subscriber got %d and was told of %d drops, of %d", len(got), r.Dropped[0], n)
	}
	if r.Stats.Dropped != r.Dropped[0] || len(r.Errors) == 0 {
		t.Fatalf("stats %+v, errors %q", r.Stats, r.Errors)
	}
	b.stopRouter()
}

// Block: a stopped Block-policy subscriber holds the publisher it
// subscribes to (nothing of it is lost), and only that one: another
// publisher's messages reach their subscriber process meanwhile.
func TestE2ESlowConsumerBlock(t *testing.T) {
	b := newE2EBus(t)
	n1, n2 := e2eScale(3000, 1000), e2eScale(20000, 3000)
	slow := b.start("slow", "subscribe", e2eArgs{OutRing: 4096, Subs: []e2eSubSpec{{Pattern: "held.t", Block: 10 * waitLimit}}})
	both := b.sub("both", e2eSubSpec{Pattern: "held.t", Block: waitLimit}, e2eSubSpec{Pattern: "free.t", Block: waitLimit})
	free := b.sub("free", e2eSubSpec{Pattern: "free.t", Block: waitLimit})
	slow.signal(syscall.SIGSTOP)
	t.Cleanup(func() { slow.cmd.Process.Signal(syscall.SIGCONT) })

	// n1 messages of about 120 bytes are far more than slow's 4 KiB ring
	// and held's 16 KiB ring take: held cannot finish while slow is stopped.
	held := b.start("held", "publish", e2eArgs{Pub: 1, Topics: []string{"held.t"}, N: n1, Filler: 100, InRing: 16 << 10})
	other := b.start("other", "publish", e2eArgs{Pub: 2, Topics: []string{"free.t"}, N: n2, Filler: 100})
	if last := other.done(); last != uint64(n2) {
		t.Fatalf("other published %d, want %d", last, n2)
	}
	e2eExpectRun(t, "free subscriber, while held was held", free.finish().seqs(0, 2), 1, uint64(n2))
	if _, ok := held.await("done", 0); ok || held.exited() {
		t.Fatal("the held publisher finished while its Block-policy subscriber was stopped")
	}

	slow.signal(syscall.SIGCONT)
	if last := held.done(); last != uint64(n1) {
		t.Fatalf("held published %d, want %d", last, n1)
	}
	r := slow.finish()
	e2eExpectRun(t, "block subscriber", r.seqs(0, 1), 1, uint64(n1))
	if r.Stats.Dropped != 0 {
		t.Fatalf("block subscriber: %+v", r.Stats)
	}
	rb := both.finish()
	e2eExpectRun(t, "subscriber of both, held's", rb.seqs(0, 1), 1, uint64(n1))
	e2eExpectRun(t, "subscriber of both, other's", rb.seqs(1, 2), 1, uint64(n2))
	b.stopRouter()
}
