package bus

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/router"
)

// Crashes across processes: a client killed with SIGKILL (no Close, no
// EOF of its own making), and a client that corrupts its ring.

// e2eRequest asks topic and checks the answer echoes the question.
func e2eRequest(t *testing.T, c *Conn, topic string) error {
	t.Helper()
	p := e2ePayload(make([]byte, e2eHeaderLen), 0, 1, 0)
	r, err := c.Request(topic, p, waitLimit)
	if err == nil && string(r.Data) != string(p) {
		err = fmt.Errorf("answer %q, want %q", r.Data, p)
	}
	return err
}

// A subscriber process killed under load: the router sees it die, removes
// its segment file and its subscriptions (a request to what it served has
// no responders), and the publisher and the other subscriber go on as if
// nothing happened. The victim's subscription has the Block policy and a
// small ring, so the publisher is held on it when it dies: the router must
// let go of that too.
func TestE2EKillSubscriberUnderLoad(t *testing.T) {
	b := newE2EBus(t)
	step := e2eScale(5000, 1000)
	victim := b.start("victim", "subscribe", e2eArgs{OutRing: 8192, Subs: []e2eSubSpec{
		{Pattern: "load.t", Block: 10 * waitLimit},
		{Pattern: "victim.svc", Respond: true},
	}})
	survivor := b.sub("survivor", e2eSubSpec{Pattern: "load.t", Block: waitLimit})
	c := connect(t, b.dir, WithName("requester"))
	if err := e2eRequest(t, c, "victim.svc"); err != nil { // before the load fills its ring
		t.Fatalf("victim alive: %v", err)
	}
	pub := b.start("pub", "publish", e2eArgs{Pub: 1, Topics: []string{"load.t"}, Filler: 100})
	survivor.progressAtLeast(step)

	victim.kill() // SIGKILL by PID, reaped
	waitRemoved(t, "the router to remove the dead subscriber's segment", b.segmentPath(victim))
	if err := e2eRequest(t, c, "victim.svc"); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("request to the dead subscriber: %v, want ErrNoResponders", err)
	}
	waitFor(t, "the router's stats to lose the dead client", func() bool {
		s, err := router.ReadStats(b.dir)
		if err != nil {
			return false
		}
		for _, cl := range s.Clients {
			if cl.Name == "victim" {
				return false
			}
		}
		return true
	})

	survivor.progressAtLeast(survivor.lastProgress() + step) // the load goes on
	pub.send("stop")
	last := pub.done()
	e2eExpectRun(t, "survivor", survivor.finish().seqs(0, 1), 1, last)
	b.stopRouter()
}

// Publisher processes killed while spinning on Publish (large messages, so
// many kills land between claim and commit): the router removes each, and
// what the subscriber got from each is a prefix of its sequence, in order,
// none corrupt (finish checks every payload's checksum). Another publisher
// and the subscriber go on throughout.
func TestE2EKillPublisherMidWrite(t *testing.T) {
	b := newE2EBus(t)
	sub := b.sub("sub", e2eSubSpec{Pattern: "crash.>", Block: waitLimit})
	other := b.start("other", "publish", e2eArgs{Pub: 100, Topics: []string{"crash.other"}, Burst: 32, Pause: time.Millisecond, Filler: 50})
	rounds := e2eScale(4, 1)
	for i := 1; i <= rounds; i++ {
		v := b.start(fmt.Sprintf("victim-%d", i), "publish", e2eArgs{Pub: i, Topics: []string{"crash.v"}, Filler: 4000})
		v.expect("progress") // 1024 published: it spins
		v.kill()
		waitRemoved(t, "the router to remove the dead publisher's segment", b.segmentPath(v))
	}
	at := sub.lastProgress()
	sub.progressAtLeast(at + 256) // still flowing
	other.send("stop")
	last := other.done()
	r := sub.finish()
	for i := 1; i <= rounds; i++ {
		got := r.seqs(0, i)
		e2eExpectRun(t, fmt.Sprintf("victim-%d (a prefix)", i), got, 1, uint64(len(got)))
		t.Logf("victim-%d: the subscriber got its first %d messages", i, len(got))
	}
	e2eExpectRun(t, "the other publisher", r.seqs(0, 100), 1, last)
	b.stopRouter()
}

// A client scribbles over its own in ring: the router drops that client,
// tells it so and closes its control socket, and only that one: the other
// clients go on. The scribbler does not reconnect, so that it stays out
// (were it to reconnect, it would be dropped again until it writes a
// record: ring.Producer's recovery restarts writing where the garbage
// starts, but leaves it readable until it writes there).
func TestE2EGarbageInRing(t *testing.T) {
	b := newE2EBus(t)
	step := e2eScale(500, 200)
	scrib := b.start("scribbler", "scribble", e2eArgs{NoReconnect: true, Subs: []e2eSubSpec{
		{Pattern: "scrib.svc", Respond: true},
		{Pattern: "data.t", Block: waitLimit},
	}})
	good := b.sub("good", e2eSubSpec{Pattern: "data.t", Block: waitLimit}, e2eSubSpec{Pattern: "good.svc", Respond: true})
	pub := b.start("pub", "publish", e2eArgs{Pub: 1, Topics: []string{"data.t"}, Burst: 32, Pause: time.Millisecond, Filler: 50})
	c := connect(t, b.dir, WithName("requester"))
	for _, svc := range []string{"scrib.svc", "good.svc"} {
		if err := e2eRequest(t, c, svc); err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
	}
	good.progressAtLeast(step)

	scrib.send("scribble")
	scrib.expect("scribbled")
	scrib.expect("disconnected")
	scrib.expect("closed")
	// The router's error frame comes before the EOF, but the Conn closes on
	// the EOF and may stop reading its ring before it gets to the frame.
	// Callbacks run in order: one for the frame would have come before
	// "closed".
	if e, ok := scrib.await("asyncerr", 0); ok && !strings.Contains(e, "corrupt") {
		t.Fatalf("the scribbler was told %q", e)
	} else {
		t.Logf("the scribbler was told why before it closed: %v", ok)
	}
	if err := e2eRequest(t, c, "scrib.svc"); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("request to the dropped client: %v, want ErrNoResponders", err)
	}
	good.progressAtLeast(good.lastProgress() + step)
	if err := e2eRequest(t, c, "good.svc"); err != nil {
		t.Fatalf("good.svc after the garbage: %v", err)
	}
	pub.send("stop")
	last := pub.done()
	e2eExpectRun(t, "good subscriber", good.finish().seqs(0, 1), 1, last)
	scrib.send("exit")
	scrib.wait()
	b.stopRouter()
}
