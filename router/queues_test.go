package router

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

func TestQueueDeclare(t *testing.T) {
	r := startRouter(t)
	a := dialRaw(t, r.Dir())
	b := dialRaw(t, r.Dir())

	info := a.declare("jobs", wire.QueueConfig{MaxMsgs: 10, Durability: "sync"})
	c := info.Config
	if info.Name != "jobs" || c.MaxMsgs != 10 || c.MaxBytes != 64<<20 || c.Overflow != "reject" || c.AckTimeout != 30*time.Second ||
		c.Starvation != "strict" || !slices.Equal(c.AlertLevels, []uint8{80, 100}) || c.AlertHysteresis != 10 || c.Durability != "sync" {
		t.Fatalf("declared config not filled in as documented: %+v", info)
	}
	// Idempotent: the same config (defaults spelled out or not).
	if again := b.declare("jobs", wire.QueueConfig{MaxMsgs: 10, MaxBytes: 64 << 20, Overflow: "reject", Durability: "sync"}); again.Name != "jobs" {
		t.Fatalf("redeclare: %+v", again)
	}
	for name, cfg := range map[string]wire.QueueConfig{
		"max_msgs":   {MaxMsgs: 11, Durability: "sync"},
		"durability": {MaxMsgs: 10, Durability: "batch"},
		"overflow":   {MaxMsgs: 10, Durability: "sync", Overflow: "block"},
	} {
		r, _ := b.ctl(wire.CtlDeclare, wire.QueueDeclare{Name: "jobs", Config: cfg})
		if r.code != wire.CodeQueueConflict || !strings.Contains(r.data, "declared with") {
			t.Errorf("conflicting %s: code %d %q, want CodeQueueConflict", name, r.code, r.data)
		}
	}
	for name, d := range map[string]wire.QueueDeclare{
		"name":           {Name: "a..b"},
		"wildcard":       {Name: "a.*"},
		"private prefix": {Name: "_private.x"},
		"overflow":       {Name: "x", Config: wire.QueueConfig{Overflow: "sometimes"}},
		"durability":     {Name: "x", Config: wire.QueueConfig{Durability: "forever"}},
		"dead letter":    {Name: "x", Config: wire.QueueConfig{DeadLetter: "bucket:y"}},
		"dead self":      {Name: "x", Config: wire.QueueConfig{DeadLetter: "queue:x"}},
		"dead topic":     {Name: "x", Config: wire.QueueConfig{DeadLetter: "topic:a.>"}},
		"negative":       {Name: "x", Config: wire.QueueConfig{MaxMsgs: -1}},
		"block timeout":  {Name: "x", Config: wire.QueueConfig{BlockTimeout: time.Second}},
		"alerts":         {Name: "x", Config: wire.QueueConfig{NoAlerts: true, AlertLevels: []uint8{50}}},
		"levels":         {Name: "x", Config: wire.QueueConfig{AlertLevels: []uint8{90, 50}}},
	} {
		r, _ := a.ctl(wire.CtlDeclare, d)
		if r.code != wire.CodeQueueInvalid || r.data == "" {
			t.Errorf("invalid %s: code %d %q, want CodeQueueInvalid with a reason", name, r.code, r.data)
		}
	}
	if r, _ := a.ctl(wire.CtlDeclare, []byte("{not json")); r.code != wire.CodeQueueInvalid {
		t.Errorf("garbage body: code %d", r.code)
	}
	if r, _ := a.ctl(99, nil); r.code != wire.CodeQueueInvalid || !strings.Contains(r.data, "unknown ctl op") {
		t.Errorf("unknown op: code %d %q", r.code, r.data)
	}
	for _, n := range []string{"b.q", "a.q"} {
		a.declare(n, wire.QueueConfig{DeadLetter: "topic:dead.letters", Starvation: "aging"})
	}
	r2, _ := a.ctl(wire.CtlList, nil)
	var list []wire.QueueInfo
	if err := json.Unmarshal([]byte(r2.data), &list); err != nil || r2.code != 0 {
		t.Fatalf("list: %v %q", err, r2.data)
	}
	var names []string
	for _, i := range list {
		names = append(names, i.Name)
	}
	if fmt.Sprint(names) != "[a.q b.q jobs]" || list[0].Config.AgingLimit != DefaultAgingLimit {
		t.Fatalf("list: %v %+v", names, list[0].Config)
	}
	// Delete answers the queue as it was; then it is gone.
	if r, _ := b.ctl(wire.CtlDelete, wire.QueueRef{Name: "b.q"}); r.code != 0 || !strings.Contains(r.data, `"name":"b.q"`) {
		t.Fatalf("delete: %d %q", r.code, r.data)
	}
	if _, r := a.info("b.q"); r.code != wire.CodeQueueNotFound {
		t.Fatalf("info after delete: %d %q", r.code, r.data)
	}
	if r, _ := a.ctl(wire.CtlDelete, wire.QueueRef{Name: "b.q"}); r.code != wire.CodeQueueNotFound {
		t.Fatalf("delete twice: %d", r.code)
	}
}

func TestQueuePrivate(t *testing.T) {
	r := startRouter(t)
	owner := dialRaw(t, r.Dir())
	other := dialRaw(t, r.Dir())
	info := owner.declare("", wire.QueueConfig{})
	if !info.Private || !strings.HasPrefix(info.Name, "_private.") {
		t.Fatalf("private queue: %+v", info)
	}
	if info2 := owner.declare("", wire.QueueConfig{}); info2.Name == info.Name {
		t.Fatal("two private declares, one queue")
	}
	// Anyone may send to it (a reply queue); only its owner consumes,
	// binds, purges or deletes it.
	other.send(qmsg{topic: info.Name, data: "to the owner"})
	other.consume(1, info.Name, 0, "")
	if msgs := other.ping(); fmt.Sprint(codes(msgs)) != "[0]" || len(only(msgs, wire.TypeErr)) != 1 || only(msgs, wire.TypeErr)[0].sid != 1 {
		t.Fatalf("other client's send and consume: %+v", msgs)
	}
	for _, op := range []uint16{wire.CtlDelete, wire.CtlPurge} {
		if r, _ := other.ctl(op, wire.QueueRef{Name: info.Name}); r.code != wire.CodeQueueInvalid {
			t.Errorf("op %d by another connection: %d %q", op, r.code, r.data)
		}
	}
	owner.consume(1, info.Name, 0, "")
	if got, _ := owner.collect(1, isDelivery); got[0].data != "to the owner" || got[0].topic != info.Name {
		t.Fatalf("owner got %+v", got)
	}
	owner.close()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, rep := other.info(info.Name); rep.code == wire.CodeQueueNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("private queue outlived its connection")
		}
	}
}

func TestQueueSendConsumeExactlyOnce(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c1 := dialRaw(t, r.Dir())
	c2 := dialRaw(t, r.Dir())
	p.declare("work", wire.QueueConfig{})
	c1.consume(7, "work", 4, "")
	c2.consume(9, "work", 4, "")
	settle(c1, c2)
	const n = 400
	for i := range n {
		p.send(qmsg{topic: "work", data: fmt.Sprint(i)})
	}
	confirms, rest := p.collect(n, isConfirm)
	if len(rest) > 0 {
		t.Fatalf("sender got %+v", rest)
	}
	for _, cf := range confirms {
		if cf.code != 0 {
			t.Fatalf("confirm %+v", cf)
		}
	}
	seen := map[string]int{}
	per := map[*rawClient]int{}
	for total := 0; total < n; {
		progress := false
		for _, c := range []*rawClient{c1, c2} {
			for _, g := range c.drain(time.Millisecond) {
				if !isDelivery(g) || g.deliveries != 1 || g.topic != "work" || (c == c1 && g.sid != 7) || (c == c2 && g.sid != 9) {
					t.Fatalf("delivery %+v", g)
				}
				seen[g.data]++
				per[c]++
				total++
				progress = true
				c.settle(g.sid, g.id, wire.SettleAck, 0)
			}
		}
		if !progress && total < n {
			time.Sleep(time.Millisecond)
		}
	}
	for i := range n {
		if seen[fmt.Sprint(i)] != 1 {
			t.Fatalf("message %d delivered %d times", i, seen[fmt.Sprint(i)])
		}
	}
	if per[c1] == 0 || per[c2] == 0 {
		t.Fatalf("one consumer got everything: %v", per)
	}
	settle(c1, c2)
	info, _ := p.info("work")
	if info.Depth != 0 || info.Enqueued != n || info.Acked != n || info.Delivered != n || info.Consumers != 2 {
		t.Fatalf("info after all acked: %+v", info)
	}
	// Unknown queue, duplicate id: confirmed with the code.
	p.send(qmsg{topic: "nowhere", data: "x"})
	id, f := p.frame(qmsg{topic: "work", data: "dup"})
	p.write(wire.TypeSend, f)
	p.write(wire.TypeSend, f)
	msgs := p.ping()
	if fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{wire.CodeQueueNotFound, 0, wire.CodeDuplicate}) || msgs[2].id != id {
		t.Fatalf("confirms %+v", msgs)
	}
}

func TestQueueSettleOps(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	dead := dialRaw(t, r.Dir())
	p.declare("dlq", wire.QueueConfig{})
	p.declare("ops", wire.QueueConfig{DeadLetter: "queue:dlq"})
	dead.consume(1, "dlq", 0, "")
	c.consume(5, "ops", 1, "")
	settle(c, dead)
	p.send(qmsg{topic: "ops", data: "m1", headers: map[string][]string{"k": {"v"}}})
	g, _ := c.collect(1, isDelivery)
	m1 := g[0]
	c.settle(5, m1.id, wire.SettleNak, 0) // again at once
	g, _ = c.collect(1, isDelivery)
	if g[0].id != m1.id || g[0].deliveries != 2 {
		t.Fatalf("after nak: %+v", g[0])
	}
	c.settle(5, m1.id, wire.SettleInProgress, 0)
	start := time.Now()
	c.settle(5, m1.id, wire.SettleNak, 30*time.Millisecond)
	g, _ = c.collect(1, isDelivery)
	if g[0].deliveries != 3 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("after nak with a delay: %+v after %v", g[0], time.Since(start))
	}
	c.settle(5, m1.id, wire.SettleTerm, 0)
	dl, _ := dead.collect(1, isDelivery)
	h := dl[0].headers
	if dl[0].id != m1.id || dl[0].topic != "dlq" || dl[0].data != "m1" || dl[0].deliveries != 1 ||
		h[HeaderDeadReason][0] != "term" || h[HeaderDeadQueue][0] != "ops" || h[HeaderDeadDeliveries][0] != "3" || h["k"][0] != "v" {
		t.Fatalf("dead letter %+v", dl[0])
	}
	dead.settle(1, dl[0].id, wire.SettleAck, 0)
	p.send(qmsg{topic: "ops", data: "m2"})
	g, _ = c.collect(1, isDelivery)
	c.settle(5, g[0].id, wire.SettleAck, 0)
	settle(c, dead)
	info, _ := p.info("ops")
	if info.Depth != 0 || info.Acked != 1 || info.Termed != 1 || info.Naked != 2 || info.Redelivered != 2 || info.DeadLettered != 1 {
		t.Fatalf("info %+v", info)
	}
}

func TestQueueRedeliveryWhenConsumerCloses(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	gone := dialRaw(t, r.Dir())
	stays := dialRaw(t, r.Dir())
	p.declare("rd", wire.QueueConfig{})
	gone.consume(1, "rd", 10, "")
	settle(gone)
	for i := range 5 {
		p.send(qmsg{topic: "rd", data: fmt.Sprint(i)})
	}
	got, _ := gone.collect(5, isDelivery)
	if datas(got) != "0 1 2 3 4" {
		t.Fatalf("first consumer got %q", datas(got))
	}
	gone.close() // unacked: all five come back
	stays.consume(2, "rd", 10, "")
	again, _ := stays.collect(5, isDelivery)
	if datas(again) != "0 1 2 3 4" {
		t.Fatalf("redelivered %q, want the same order", datas(again))
	}
	for _, g := range again {
		if g.deliveries != 2 || g.sid != 2 {
			t.Fatalf("redelivery %+v, want deliveries 2 on sid 2", g)
		}
	}
	// Unsubscribing gives them back too.
	stays.unsub(2)
	stays.consume(3, "rd", 10, "")
	third, _ := stays.collect(5, isDelivery)
	if third[0].deliveries != 3 || third[0].sid != 3 {
		t.Fatalf("after unsub: %+v", third[0])
	}
}

func TestQueuePriorityUnderBacklog(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("prio", wire.QueueConfig{})
	const low = 3000
	for i := range low {
		p.send(qmsg{topic: "prio", data: fmt.Sprint(i), prio: 1})
		if i%500 == 499 {
			p.collect(500, isConfirm) // confirms take room in p's ring
		}
	}
	p.send(qmsg{topic: "prio", data: "high", prio: 9})
	p.collect(1, isConfirm)
	c.consume(1, "prio", 1, "")
	g, _ := c.collect(1, isDelivery)
	if g[0].data != "high" || g[0].prio != 9 {
		t.Fatalf("first delivery under a backlog: %+v", g[0])
	}
	c.settle(1, g[0].id, wire.SettleAck, 0)
	g, _ = c.collect(1, isDelivery)
	if g[0].data != "0" {
		t.Fatalf("then %q, want the oldest low one", g[0].data)
	}
}

func TestQueueTTLMidQueue(t *testing.T) {
	r := startRouter(t)
	p := dialRaw(t, r.Dir())
	c := dialRaw(t, r.Dir())
	p.declare("ttl", wire.QueueConfig{})
	soon := uint64(ipc.MonotonicNanos() + int64(20*time.Millisecond))
	p.send(qmsg{topic: "ttl", data: "a"})
	p.send(qmsg{topic: "ttl", data: "b", deadline: soon})
	p.send(qmsg{topic: "ttl", data: "c"})
	p.send(qmsg{topic: "ttl", data: "d", deadline: 1}) // long past: refused
	if msgs := p.ping(); fmt.Sprint(codes(msgs)) != fmt.Sprint([]uint32{0, 0, 0, wire.CodeMsgExpired}) {
		t.Fatalf("confirms %+v", msgs)
	}
	// The timer expires b while nobody consumes (no delivery attempt).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if info, _ := p.info("ttl"); info.Expired == 2 && info.Depth == 2 {
			break
		}
		if time.Now().After(deadline) {
			info, _ := p.info("ttl")
			t.Fatalf("b never expired: %+v", info)
		}
	}
	c.consume(1, "ttl", 10, "")
	g, _ := c.collect(2, isDelivery)
	if datas(g) != "a c" {
		t.Fatalf("delivered %q", datas(g))
	}
	if more := c.drain(20 * time.Millisecond); len(more) != 0 {
		t.Fatalf("then %+v", more)
	}
}
