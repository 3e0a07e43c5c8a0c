package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

func TestQueueOverflowPolicies(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	dead := dialRaw(t, r.Dir())

	p.declare("rej", wire.QueueConfig{MaxMsgs: 2})
	for _, d := range []string{"a", "b", "c"} {
		p.send(qmsg{topic: "rej", data: d})
	}
	if msgs := p.ping(); fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{0, 0, wire.CodeQueueFull}) || !strings.Contains(msgs[2].data, "full") {
		t.Fatalf("reject: %+v", msgs)
	}

	p.declare("dl.overflow", wire.QueueConfig{})
	p.declare("old", wire.QueueConfig{MaxMsgs: 2, Overflow: "drop-oldest", DeadLetter: "queue:dl.overflow"})
	p.send(qmsg{topic: "old", data: "a", prio: 4})
	p.send(qmsg{topic: "old", data: "b", prio: 4})
	p.send(qmsg{topic: "old", data: "c", prio: 4}) // a makes room
	p.send(qmsg{topic: "old", data: "d", prio: 1}) // nothing it may drop: refused
	if msgs := p.ping(); fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{0, 0, 0, wire.CodeQueueFull}) {
		t.Fatalf("drop-oldest: %+v", msgs)
	}
	dead.consume(1, "dl.overflow", 0, "")
	if g, _ := dead.collect(1, isDelivery); g[0].data != "a" || g[0].headers[HeaderDeadReason][0] != "overflow" || g[0].deliveries != 1 {
		t.Fatalf("dropped message's dead letter: %+v", g[0])
	}
	c.consume(1, "old", 10, "")
	if g, _ := c.collect(2, isDelivery); datas(g) != "b c" {
		t.Fatalf("drop-oldest kept %q", datas(g))
	}

	// Block: the sender is held until a consumer makes room.
	p.declare("blk", wire.QueueConfig{MaxMsgs: 1, Overflow: "block", BlockTimeout: 10 * time.Second})
	p.send(qmsg{topic: "blk", data: "first"})
	p.send(qmsg{topic: "blk", data: "second"})
	if msgs := p.drain(30 * time.Millisecond); fmt.Sprint(codes(msgs)) != "[0]" {
		t.Fatalf("block: before room, %+v", msgs)
	}
	c.consume(2, "blk", 1, "")
	g, _ := c.collect(1, isDelivery)
	c.settle(2, g[0].id, wire.SettleAck, 0)
	if msgs, _ := p.collect(1, isConfirm); msgs[0].code != 0 {
		t.Fatalf("held send: %+v", msgs)
	}
	if g, _ := c.collect(1, isDelivery); g[0].data != "second" {
		t.Fatalf("then %+v", g)
	}

	// Block with a deadline: refused once its block timeout passes.
	p.declare("blk.short", wire.QueueConfig{MaxMsgs: 1, Overflow: "block", BlockTimeout: 30 * time.Millisecond})
	p.send(qmsg{topic: "blk.short", data: "first"})
	start := time.Now()
	p.send(qmsg{topic: "blk.short", data: "second"})
	msgs, _ := p.collect(2, isConfirm)
	if fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{0, wire.CodeQueueFull}) || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("block timeout: %+v after %v", msgs, time.Since(start))
	}
	info, _ := p.info("blk.short")
	if info.Rejected != 1 || info.Blocked != 1 || info.Depth != 1 || info.Config.BlockTimeout != 30*time.Millisecond {
		t.Fatalf("info %+v", info)
	}
	// The router's default block timeout fills in a block queue's.
	if info := p.declare("blk.default", wire.QueueConfig{Overflow: "block"}); info.Config.BlockTimeout != DefaultBlockTimeout {
		t.Fatalf("default block timeout %v", info.Config.BlockTimeout)
	}
	// Too large for the queue.
	p.declare("tiny", wire.QueueConfig{MaxBytes: 60})
	p.send(qmsg{topic: "tiny", data: strings.Repeat("x", 100)})
	if msgs := p.ping(); fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{wire.CodeMsgTooLarge}) {
		t.Fatalf("too large: %+v", msgs)
	}
}

func TestQueueAlerts(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	sys := dialRaw(t, r.Dir())
	sys.sub(1, "$SYS.QUEUE.>", "", wire.PolicyDrop, 0)
	settle(sys)
	p.declare("al.q", wire.QueueConfig{MaxMsgs: 10})
	for i := range 10 {
		p.send(qmsg{topic: "al.q", data: fmt.Sprint(i)})
	}
	settle(p)
	alerts := func(n int) []QueueAlert {
		got, _ := sys.collect(n, func(g got) bool { return g.typ == wire.TypeMsg })
		var as []QueueAlert
		for _, g := range got {
			if g.topic != QueueAlertTopic("al.q") {
				t.Fatalf("alert on %q", g.topic)
			}
			var a QueueAlert
			if err := json.Unmarshal([]byte(g.data), &a); err != nil {
				t.Fatal(err)
			}
			as = append(as, a)
		}
		return as
	}
	if as := alerts(2); as[0] != (QueueAlert{Queue: "al.q", Level: 80, Fill: 80, Raised: true}) || as[1].Level != 100 || !as[1].Raised {
		t.Fatalf("raised: %+v", as)
	}
	p.send(qmsg{topic: "al.q", data: "over"}) // refused: counted in the next alert
	c.consume(1, "al.q", 4, "")
	g, _ := c.collect(4, isDelivery)
	for _, d := range g {
		c.settle(1, d.id, wire.SettleAck, 0)
	}
	as := alerts(2)
	if as[0].Level != 100 || as[0].Raised || as[1].Level != 80 || as[1].Raised || as[1].Fill != 60 || as[1].Rejected != 1 {
		t.Fatalf("cleared: %+v", as)
	}
}

func TestQueueDeadLetters(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	watch := dialRaw(t, r.Dir())
	watch.sub(1, "dead.>", "", wire.PolicyDrop, 0)
	settle(watch)
	p.declare("md", wire.QueueConfig{MaxDeliveries: 1, DeadLetter: "topic:dead.md"})
	p.declare("ex", wire.QueueConfig{DefaultTTL: 20 * time.Millisecond, DeadLetter: "topic:dead.ex"})
	p.send(qmsg{topic: "md", data: "once", reply: "r.1", prio: 7})
	p.send(qmsg{topic: "ex", data: "late"})
	c.consume(1, "md", 0, "")
	g, _ := c.collect(1, isDelivery)
	c.settle(1, g[0].id, wire.SettleNak, 0) // its one delivery used: dead
	dls, _ := watch.collect(2, func(g got) bool { return g.typ == wire.TypeMsg })
	slices.SortFunc(dls, func(a, b got) int { return strings.Compare(a.topic, b.topic) })
	ex, md := dls[0], dls[1]
	if md.topic != "dead.md" || md.data != "once" || md.prio != 7 || md.headers[HeaderDeadReason][0] != "max-deliveries" ||
		md.headers[HeaderDeadQueue][0] != "md" || md.headers[HeaderDeadDeliveries][0] != "1" {
		t.Fatalf("max-deliveries dead letter %+v", md)
	}
	if ex.topic != "dead.ex" || ex.headers[HeaderDeadReason][0] != "expired" || ex.headers[HeaderDeadDeliveries][0] != "0" {
		t.Fatalf("expired dead letter %+v", ex)
	}

	// A cycle: cyc dead-letters to a topic bound back to cyc. The first
	// death goes round once; the second is discarded, not looped.
	p.declare("cyc", wire.QueueConfig{DeadLetter: "topic:cyc.dead"})
	if r, _ := p.ctl(wire.CtlBind, wire.QueueBinding{Name: "cyc", Pattern: "cyc.dead"}); r.code != 0 {
		t.Fatalf("bind: %+v", r)
	}
	p.send(qmsg{topic: "cyc", data: "round"})
	c.consume(2, "cyc", 0, "")
	g, _ = c.collect(1, isDelivery)
	c.settle(2, g[0].id, wire.SettleTerm, 0)
	g, _ = c.collect(1, isDelivery)
	if g[0].topic != "cyc.dead" || g[0].headers[HeaderDeadQueue][0] != "cyc" {
		t.Fatalf("the dead letter back in cyc: %+v", g[0])
	}
	c.settle(2, g[0].id, wire.SettleTerm, 0)
	settle(c)
	if more := c.drain(20 * time.Millisecond); len(more) != 0 {
		t.Fatalf("a dead-letter cycle went round again: %+v", more)
	}
	waitStats(t, r, func(s *Snapshot) bool {
		for _, q := range s.Queues {
			if q.Name == "cyc" {
				return q.DeadLost == 1 && q.Termed == 2 && q.BoundIn == 1
			}
		}
		return false
	})
	// A missing dead-letter queue: discarded and counted.
	p.declare("orphan", wire.QueueConfig{DeadLetter: "queue:does.not.exist"})
	p.send(qmsg{topic: "orphan", data: "x"})
	c.consume(3, "orphan", 0, "")
	g, _ = c.collect(1, isDelivery)
	c.settle(3, g[0].id, wire.SettleTerm, 0)
	waitStats(t, r, func(s *Snapshot) bool {
		return slices.ContainsFunc(s.Queues, func(q QueueStats) bool { return q.Name == "orphan" && q.DeadLost == 1 })
	})
}

func TestQueueBindings(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("orders", wire.QueueConfig{})
	for _, pat := range []string{"orders.>", "orders.*", "orders.>"} { // twice: a no-op
		if r, _ := p.ctl(wire.CtlBind, wire.QueueBinding{Name: "orders", Pattern: pat}); r.code != 0 {
			t.Fatalf("bind %q: %+v", pat, r)
		}
	}
	if r, _ := p.ctl(wire.CtlBind, wire.QueueBinding{Name: "orders", Pattern: "a.>.b"}); r.code != wire.CodeQueueInvalid {
		t.Fatalf("bad pattern: %+v", r)
	}
	if r, _ := p.ctl(wire.CtlBind, wire.QueueBinding{Name: "nope", Pattern: "a"}); r.code != wire.CodeQueueNotFound {
		t.Fatalf("bind to a missing queue: %+v", r)
	}
	// No subscriber: a queue took it, so no no-responders status.
	p.pubm(qmsg{topic: "orders.eu", reply: "r.1", data: "one"})
	p.pubm(qmsg{topic: "other", data: "nobody"})
	if msgs := p.ping(); len(msgs) != 0 {
		t.Fatalf("publisher got %+v", msgs)
	}
	c.consume(1, "orders", 0, "")
	g, _ := c.collect(1, isDelivery)
	if g[0].topic != "orders.eu" || g[0].data != "one" {
		t.Fatalf("bound delivery %+v", g[0])
	}
	info, _ := p.info("orders")
	if info.Enqueued != 1 || !slices.Equal(info.Bindings, []string{"orders.>", "orders.*"}) {
		t.Fatalf("one publish matching two bindings: %+v", info)
	}
	waitStats(t, r, func(s *Snapshot) bool { return s.NoSubscriber == 1 })
	for _, pat := range []string{"orders.>", "orders.*"} {
		if r, _ := p.ctl(wire.CtlUnbind, wire.QueueBinding{Name: "orders", Pattern: pat}); r.code != 0 {
			t.Fatalf("unbind: %+v", r)
		}
	}
	if r, _ := p.ctl(wire.CtlUnbind, wire.QueueBinding{Name: "orders", Pattern: "orders.*"}); r.code != wire.CodeQueueNotFound {
		t.Fatalf("unbind twice: %+v", r)
	}
	p.pubm(qmsg{topic: "orders.us", reply: "r.2", data: "two"})
	if msgs := p.ping(); len(msgs) != 1 || msgs[0].typ != wire.TypeStatus {
		t.Fatalf("after unbind: %+v", msgs)
	}
	// Bound and subscribed: both get it.
	p.ctl(wire.CtlBind, wire.QueueBinding{Name: "orders", Pattern: "orders.>"})
	sub := dialRaw(t, r.Dir())
	sub.sub(1, "orders.>", "", wire.PolicyDrop, 0)
	settle(sub)
	p.pubm(qmsg{topic: "orders.x", data: "three"})
	if g, _ := c.collect(1, isDelivery); g[0].data != "three" {
		t.Fatalf("queue got %+v", g)
	}
	if g := sub.ping(); len(g) != 1 || g[0].data != "three" || g[0].flags != 0 {
		t.Fatalf("subscriber got %+v", g)
	}
}

func TestQueueSelectors(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	eu := dialRaw(t, r.Dir())
	us := dialRaw(t, r.Dir())
	p.declare("sel", wire.QueueConfig{})
	eu.consume(1, "sel", 0, `region == "eu"`)
	us.consume(1, "sel", 0, `region == "us" && amount > 100`)
	settle(eu, us)
	for i, h := range []string{"eu", "us", "eu", "", "us"} {
		m := qmsg{topic: "sel", data: fmt.Sprint(i), headers: map[string][]string{"amount": {"500"}}}
		if h != "" {
			m.headers["region"] = []string{h}
		}
		p.send(m)
	}
	settle(p)
	if g, _ := eu.collect(2, isDelivery); datas(g) != "0 2" {
		t.Fatalf("eu consumer got %q", datas(g))
	}
	if g, _ := us.collect(2, isDelivery); datas(g) != "1 4" {
		t.Fatalf("us consumer got %q", datas(g))
	}
	if info, _ := p.info("sel"); info.Ready != 1 || info.InFlight != 4 {
		t.Fatalf("the message no selector takes should wait: %+v", info)
	}
	eu.consume(2, "sel", 0, `region ==`)
	if g := eu.ping(); len(g) != 1 || g[0].typ != wire.TypeErr || g[0].code != wire.CodeQueueInvalid || g[0].sid != 2 {
		t.Fatalf("bad selector: %+v", g)
	}
	waitStats(t, r, func(s *Snapshot) bool {
		for _, c := range s.Clients {
			if c.ID == eu.id {
				return len(c.Consumers) == 1 && c.Consumers[0].Selector == `region == "eu"` && c.Consumers[0].InFlight == 2
			}
		}
		return false
	})
}

func TestQueueSettleByNonHolderRefused(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	a := dialRaw(t, r.Dir())
	b := dialRaw(t, r.Dir())
	p.declare("held", wire.QueueConfig{})
	a.consume(1, "held", 1, "")
	settle(a)
	p.send(qmsg{topic: "held", data: "x"})
	g, _ := a.collect(1, isDelivery)
	id := g[0].id
	b.consume(1, "held", 1, "")
	for _, op := range []uint8{wire.SettleAck, wire.SettleNak, wire.SettleTerm, wire.SettleInProgress} {
		b.settle(1, id, op, 0) // not b's
	}
	b.settle(9, id, wire.SettleAck, 0)     // no such sid
	a.settle(1, id+100, wire.SettleAck, 0) // no such message
	for _, c := range []*rawClient{a, b} {
		for _, e := range c.ping() {
			if e.typ != wire.TypeErr || e.code != wire.CodeNotHeld {
				t.Fatalf("refused settle answered %+v", e)
			}
		}
	}
	if info, _ := p.info("held"); info.InFlight != 1 || info.Acked != 0 || info.Naked != 0 {
		t.Fatalf("a refused settle changed the queue: %+v", info)
	}
	a.settle(1, id, wire.SettleAck, 0)
	settle(a)
	if info, _ := p.info("held"); info.Acked != 1 || info.Depth != 0 {
		t.Fatalf("the holder's ack: %+v", info)
	}
}

func TestQueueGarbageFrames(t *testing.T) {
	r := startRouter(t)
	good := dialRaw(t, r.Dir())
	good.declare("g", wire.QueueConfig{})
	bad := dialRaw(t, r.Dir())
	bad.write(wire.TypeCtl, []byte{1, 2, 3})
	bad.write(wire.TypeSend, []byte("short"))
	bad.write(wire.TypeConsume, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17})
	bad.write(wire.TypeSettle, make([]byte, wire.SettleSize-1))
	bad.write(wire.TypeSettle, make([]byte, wire.SettleSize)) // op 0
	errs := bad.ping()
	if len(errs) != 5 {
		t.Fatalf("garbage got %d answers: %+v", len(errs), errs)
	}
	for _, e := range errs {
		if e.typ != wire.TypeErr || e.code != wire.CodeBadRecord {
			t.Fatalf("garbage answered %+v", e)
		}
	}
	bad.consume(1, "missing", 0, "")
	bad.consume(2, "g", 0, "")
	bad.consume(2, "g", 0, "") // sid in use
	bad.sub(2, "x", "", wire.PolicyDrop, 0)
	want := []uint32{wire.CodeQueueNotFound, wire.CodeBadSub, wire.CodeBadSub}
	var gotCodes []uint32
	for _, e := range bad.ping() {
		gotCodes = append(gotCodes, e.code)
	}
	if fmt.Sprint(gotCodes) != fmt.Sprint(want) {
		t.Fatalf("consume errors %v, want %v", gotCodes, want)
	}
	// Still serving.
	good.send(qmsg{topic: "g", data: "fine"})
	if g, _ := bad.collect(1, isDelivery); g[0].data != "fine" {
		t.Fatalf("after garbage: %+v", g)
	}
}

func TestQueueConsumerResumedFromHello(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	p.declare("resume", wire.QueueConfig{})
	c := dialRaw(t, r.Dir(), wire.SubSpec{SID: 4, Queue: "resume", Prefetch: 2, Selector: `k == "v"`},
		wire.SubSpec{SID: 5, Queue: "gone.away"}, wire.SubSpec{SID: 6, Pattern: "plain.topic"})
	p.send(qmsg{topic: "resume", data: "no"})
	p.send(qmsg{topic: "resume", data: "yes", headers: map[string][]string{"k": {"v"}}})
	settle(p)
	got, rest := c.collect(1, isDelivery)
	if got[0].sid != 4 || got[0].data != "yes" {
		t.Fatalf("resumed consumer got %+v", got)
	}
	if len(rest) != 1 || rest[0].typ != wire.TypeErr || rest[0].sid != 5 || rest[0].code != wire.CodeQueueNotFound {
		t.Fatalf("a resumed consumer of a missing queue: %+v", rest)
	}
	p.pubm(qmsg{topic: "plain.topic", data: "sub"})
	settle(p)
	if g := c.ping(); len(g) != 1 || g[0].sid != 6 {
		t.Fatalf("resumed subscription: %+v", g)
	}
}

func TestQueueStatsAndDelete(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("st", wire.QueueConfig{Durability: "batch"})
	c.consume(3, "st", 5, "")
	for i := range 3 {
		p.send(qmsg{topic: "st", data: fmt.Sprint(i)})
	}
	c.collect(3, isDelivery)
	s := waitStats(t, r, func(s *Snapshot) bool { return len(s.Queues) == 1 && s.Queues[0].InFlight == 3 })
	if q := s.Queues[0]; q.Name != "st" || q.Durability != "batch" || q.Enqueued != 3 || q.Delivered != 3 || q.Consumers != 1 || q.MaxMsgs != 100_000 {
		t.Fatalf("queue stats %+v", q)
	}
	// Deleting a consumed queue tells its consumer on the sid.
	if r, _ := p.ctl(wire.CtlDelete, wire.QueueRef{Name: "st"}); r.code != 0 {
		t.Fatalf("delete: %+v", r)
	}
	g, _ := c.collect(1, func(g got) bool { return g.typ == wire.TypeErr })
	if g[0].code != wire.CodeQueueDeleted || g[0].sid != 3 {
		t.Fatalf("consumer told %+v", g[0])
	}
	c.settle(3, 1, wire.SettleAck, 0)
	if e := c.ping(); len(e) != 1 || e[0].code != wire.CodeNotHeld {
		t.Fatalf("settle after delete: %+v", e)
	}
	waitStats(t, r, func(s *Snapshot) bool { return len(s.Queues) == 0 })
}

func TestQueuePurge(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	p.declare("pg", wire.QueueConfig{})
	for range 4 {
		p.send(qmsg{topic: "pg", data: "x"})
	}
	r1, _ := p.ctl(wire.CtlPurge, wire.QueueRef{Name: "pg"})
	var info wire.QueueInfo
	if err := json.Unmarshal([]byte(r1.data), &info); err != nil || info.Purged != 4 || info.Depth != 0 {
		t.Fatalf("purge: %+v %v", info, err)
	}
}

func TestQueueAckTimeout(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("at", wire.QueueConfig{AckTimeout: 30 * time.Millisecond})
	c.consume(1, "at", 1, "")
	settle(c)
	start := time.Now()
	p.send(qmsg{topic: "at", data: "slow"})
	g, _ := c.collect(1, isDelivery)
	// Not settled: it comes back after the ack timeout, to the same
	// consumer (its credit came back with it).
	g2, _ := c.collect(1, isDelivery)
	if g2[0].id != g[0].id || g2[0].deliveries != 2 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("after the ack timeout: %+v (%v)", g2[0], time.Since(start))
	}
	c.settle(1, g[0].id, wire.SettleAck, 0) // the first delivery's: still the same message in flight
	settle(c)
	if info, _ := p.info("at"); info.Acked != 1 || info.Depth != 0 || info.Redelivered != 1 {
		t.Fatalf("info %+v", info)
	}
}

// A consumer whose ring is full gets the rest as it makes room: nothing is
// lost, nothing delivered twice, and its ring never overflows.
func TestQueueConsumerRingFull(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("full", wire.QueueConfig{})
	c.consume(1, "full", wire.MaxPrefetch, "")
	settle(c)
	const n = 3000 // about 5 times what c's 64 KiB ring holds
	body := strings.Repeat("x", 60)
	for i := range n {
		p.send(qmsg{topic: "full", data: body + fmt.Sprint(i)})
		if i%500 == 499 {
			p.collect(500, isConfirm)
		}
	}
	seen := map[string]bool{}
	for deadline := time.Now().Add(20 * time.Second); len(seen) < n && time.Now().Before(deadline); {
		for _, g := range c.drain(time.Millisecond) {
			if !isDelivery(g) || seen[g.data] {
				t.Fatalf("got %+v (seen before: %v)", g, seen[g.data])
			}
			seen[g.data] = true
			c.settle(1, g.id, wire.SettleAck, 0)
		}
	}
	if len(seen) != n {
		t.Fatalf("consumer got %d of %d", len(seen), n)
	}
}
