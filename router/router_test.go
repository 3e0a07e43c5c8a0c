package router

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

// settle waits until the router has handled everything c wrote.
func settle(cs ...*rawClient) {
	for _, c := range cs {
		c.ping()
	}
}

func TestPubSubWildcardsAndOrder(t *testing.T) {
	r := startRouter(t)
	a := dialRaw(t, r.Dir())
	b := dialRaw(t, r.Dir())
	b.sub(1, "orders.*.created", "", wire.PolicyDrop, 0)
	b.sub(2, "orders.>", "", wire.PolicyDrop, 0)
	b.sub(3, "orders.eu.created", "", wire.PolicyDrop, 0)
	settle(b)
	for i := 0; i < 100; i++ {
		a.pub("orders.eu.created", "", fmt.Sprint(i))
	}
	a.pub("orders.us.deleted.x", "", "z")
	a.pub("other", "", "none")
	settle(a)
	msgs := b.ping()
	next := map[uint64]int{}
	for _, m := range msgs {
		if m.typ != wire.TypeMsg {
			t.Fatalf("unexpected %+v", m)
		}
		if m.topic == "orders.eu.created" {
			if m.data != fmt.Sprint(next[m.sid]) {
				t.Fatalf("sid %d: got %q, want %d (per-publisher order)", m.sid, m.data, next[m.sid])
			}
			next[m.sid]++
		} else if m.topic != "orders.us.deleted.x" || m.sid != 2 {
			t.Fatalf("unexpected delivery %+v", m)
		}
	}
	if next[1] != 100 || next[2] != 100 || next[3] != 100 {
		t.Fatalf("deliveries per sid %v, want 100 each", next)
	}
	if len(msgs) != 301 {
		t.Fatalf("%d deliveries, want 301", len(msgs))
	}
}

func TestQueueGroupExactlyOnce(t *testing.T) {
	r := startRouter(t)
	pub := dialRaw(t, r.Dir())
	var members []*rawClient
	for i := 0; i < 3; i++ {
		m := dialRaw(t, r.Dir())
		m.sub(7, "jobs.>", "workers", wire.PolicyDrop, 0)
		settle(m)
		members = append(members, m)
	}
	plain := dialRaw(t, r.Dir())
	plain.sub(1, "jobs.*", "", wire.PolicyDrop, 0)
	settle(plain)
	const n = 300
	for i := 0; i < n; i++ {
		pub.pub("jobs.x", "", fmt.Sprint(i))
	}
	settle(pub)
	seen := map[string]int{}
	for _, m := range members {
		msgs := m.ping()
		if len(msgs) == 0 {
			t.Error("a member got nothing (round robin)")
		}
		for _, g := range msgs {
			seen[g.data]++
		}
	}
	for i := 0; i < n; i++ {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("message %d delivered %d times across the group", i, seen[fmt.Sprint(i)])
		}
	}
	if got := len(plain.ping()); got != n {
		t.Fatalf("plain subscriber got %d, want %d", got, n)
	}
}

func TestNoRespondersAndRequestReply(t *testing.T) {
	r := startRouter(t)
	req := dialRaw(t, r.Dir())
	req.pub("svc.echo", req.w.Inbox+".1", "hi")
	msgs := req.ping()
	if len(msgs) != 1 || msgs[0].typ != wire.TypeStatus || msgs[0].topic != req.w.Inbox+".1" || msgs[0].headers["Status"][0] != "503" {
		t.Fatalf("no-responders status: %+v", msgs)
	}
	srv := dialRaw(t, r.Dir(), wire.SubSpec{SID: 5, Pattern: "svc.echo"})
	req.sub(1, req.w.Inbox+".*", "", wire.PolicyDrop, 0)
	settle(req)
	req.pub("svc.echo", req.w.Inbox+".2", "ping")
	in := srv.ping()
	if len(in) != 1 || in[0].data != "ping" || in[0].sid != 5 {
		t.Fatalf("server got %+v", in)
	}
	srv.pub(req.w.Inbox+".2", "", "pong")
	settle(srv)
	out := req.ping()
	if len(out) != 1 || out[0].data != "pong" || out[0].topic != req.w.Inbox+".2" {
		t.Fatalf("requester got %+v", out)
	}
}

func TestBadRecordsAndGarbageRing(t *testing.T) {
	r := startRouter(t)
	good := dialRaw(t, r.Dir())
	good.sub(1, ">", "", wire.PolicyDrop, 0)
	settle(good)
	bad := dialRaw(t, r.Dir())
	bad.write(wire.TypePub, []byte("short"))    // malformed frame
	bad.pub("bad..topic", "", "x")              // invalid topic
	bad.sub(9, "a.>.b", "", wire.PolicyDrop, 0) // invalid pattern
	bad.write(999, []byte{1, 2, 3})             // unknown type
	errs := bad.ping()
	if len(errs) != 4 {
		t.Fatalf("bad client got %d replies, want 4 errors: %+v", len(errs), errs)
	}
	for _, e := range errs {
		if e.typ != wire.TypeErr {
			t.Fatalf("want errors, got %+v", e)
		}
	}
	// Now scribble garbage over the bad client's ring: the router must drop
	// that client and go on serving the others.
	evil := dialRaw(t, r.Dir())
	settle(evil)
	for i := range evil.seg.In[ring.SPSCSize(64<<10)-(64<<10):] {
		evil.seg.In[ring.SPSCSize(64<<10)-(64<<10)+i] = 0xA5
	}
	r.rseg.Bell.Ring()
	time.Sleep(50 * time.Millisecond)
	bad.pub("after.garbage", "", "still fine")
	settle(bad)
	msgs := good.ping()
	if len(msgs) != 1 || msgs[0].data != "still fine" {
		t.Fatalf("good client got %+v after another client's garbage", msgs)
	}
}

func TestSlowConsumerDropIsolated(t *testing.T) {
	r := startRouter(t)
	pub := dialRaw(t, r.Dir())
	slow := dialRaw(t, r.Dir())
	fast := dialRaw(t, r.Dir())
	slow.sub(1, "tick", "", wire.PolicyDrop, 0)
	fast.sub(1, "tick", "", wire.PolicyDrop, 0)
	settle(slow, fast)
	const n = 5000 // far more than the slow client's 64 KiB ring holds
	got := 0
	for i := 0; i < n; i++ {
		pub.pub("tick", "", "0123456789012345678901234567890123456789")
		if i%100 == 99 {
			settle(pub) // the router has routed these: fast holds at most 100
			got += len(fast.drain(0))
		}
	}
	settle(pub)
	got += len(fast.ping())
	if got != n {
		t.Fatalf("fast subscriber got %d of %d while another was stalled", got, n)
	}
	msgs := slow.ping()
	var data, drops int
	for _, m := range msgs {
		if m.typ == wire.TypeErr && m.code == wire.CodeSlowConsumer {
			drops++
		} else {
			data++
		}
	}
	if data >= n || data == 0 {
		t.Fatalf("slow subscriber got %d of %d", data, n)
	}
	msgs = slow.drain(200 * time.Millisecond)
	for _, m := range msgs {
		if m.typ == wire.TypeErr && m.code == wire.CodeSlowConsumer {
			drops++
		}
	}
	if drops == 0 {
		t.Fatal("no slow-consumer error reached the slow subscriber")
	}
}

func TestBlockPolicyHoldsOnlyThatPublisher(t *testing.T) {
	r := startRouter(t)
	p1 := dialRaw(t, r.Dir())
	p2 := dialRaw(t, r.Dir())
	slow := dialRaw(t, r.Dir())
	other := dialRaw(t, r.Dir())
	slow.sub(1, "a", "", wire.PolicyBlock, time.Hour)
	other.sub(1, "b", "", wire.PolicyDrop, 0)
	settle(slow, other)
	// More than slow's ring holds (about 540 of these), less than its ring
	// and p1's together: p1 stalls on slow, and p1's ring holds the rest.
	const n = 900
	for i := 0; i < n; i++ {
		p1.pub("a", "", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}
	// p2 is not held back by p1's stall.
	for i := 0; i < 10; i++ {
		p2.pub("b", "", "free")
	}
	settle(p2)
	if msgs := other.ping(); len(msgs) != 10 {
		t.Fatalf("other subscriber got %d of 10 while p1 stalled", len(msgs))
	}
	// Drain slow: every one of p1's messages arrives, none dropped.
	total := 0
	for deadline := time.Now().Add(20 * time.Second); total < n && time.Now().Before(deadline); {
		total += len(slow.drain(time.Millisecond))
	}
	if total != n {
		t.Fatalf("block-policy subscriber got %d of %d", total, n)
	}
}

func TestClientDeathRemovesSubsAndSegment(t *testing.T) {
	r := startRouter(t)
	pub := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	c.sub(1, "x", "", wire.PolicyDrop, 0)
	settle(c)
	path := c.seg.Seg.Path()
	c.sock.Close() // the client goes away (EOF)
	for deadline := time.Now().Add(10 * time.Second); ; {
		pub.pub("x", "r.1", "anyone?")
		if msgs := pub.ping(); len(msgs) == 1 && msgs[0].typ == wire.TypeStatus {
			break // no responders: the subscription is gone
		}
		if time.Now().After(deadline) {
			t.Fatal("subscription of a gone client still matched")
		}
		time.Sleep(time.Millisecond)
	}
	c.sock = nil
	c.prod.Close()
	c.cons.Close()
	c.seg.Close(false)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a client that closed (alive) keeps its segment file to remove: %v", err)
	}
	os.Remove(path)
}

func TestOneRouterPerDirectory(t *testing.T) {
	r := startRouter(t)
	if _, err := New(Config{Dir: r.Dir(), Logger: testLogger(t)}); !errors.Is(err, ErrRouterRunning) {
		t.Fatalf("second router: %v, want ErrRouterRunning", err)
	}
	r.Close()
	r2, err := New(Config{Dir: r.Dir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("router after Close: %v", err)
	}
	r2.Close()
}

func TestStatsSegment(t *testing.T) {
	r := startRouter(t)
	a := dialRaw(t, r.Dir())
	a.sub(1, "s.>", "", wire.PolicyDrop, 0)
	a.pub("s.1", "", "x")
	settle(a)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s, err := ReadStats(r.Dir())
		if err != nil || len(s.Clients) != 1 || s.Clients[0].MsgsIn != 1 {
			continue
		}
		if c := s.Clients[0]; c.MsgsOut != 1 || len(c.Subs) != 1 || c.Subs[0].Pattern != "s.>" || c.Subs[0].Delivered != 1 {
			t.Fatalf("stats %+v", c)
		}
		return
	}
	t.Fatal("stats never showed the client")
}

func TestConnectRefusedForForeignSegment(t *testing.T) {
	r := startRouter(t)
	a := dialRaw(t, r.Dir())
	// A second connection naming a's segment: a's rings are attached by the
	// router already, so the attach is refused and a keeps working.
	var w wire.Welcome
	name := filepath.Base(a.seg.Seg.Path())
	sock2, _ := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(r.Dir(), wire.SocketName), Net: "unix"})
	defer sock2.Close()
	wire.WriteControl(sock2, wire.Hello{Version: wire.ProtocolVersion, Segment: name})
	if err := wire.ReadControl(sock2, &w); err != nil || w.Error == "" {
		t.Fatalf("second attach of a live segment: %+v, %v", w, err)
	}
	a.sub(1, "still", "", wire.PolicyDrop, 0)
	a.pub("still", "", "ok")
	if msgs := a.ping(); len(msgs) != 1 {
		t.Fatalf("first client broken by the refused attach: %+v", msgs)
	}
}
