package router

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
	"github.com/shmbus/shmbus/router/rules"
)

const pubRigRules = `
[[rule]]
kind = "rename"
match = "legacy.*"
to = "t.$1"

[[rule]]
kind = "set-header"
match = "t.>"
header = "x-seen"
value = "1"

[[rule]]
kind = "route"
match = "t.>"
topics = ["copy.t"]
`

// pubCase is one shape of publish through the loop.
type pubCase struct {
	name  string
	topic string
	subs  []wire.SubSpec
	rules bool
	bind  bool  // a queue bound to the topic (purged after each publish)
	ttl   int64 // > 0: every message carries a deadline this far ahead
}

var pubCases = []pubCase{
	{name: "plain", topic: "t.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.>"}}},
	{name: "ttl", topic: "t.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.>"}}, ttl: 3600e9},
	{name: "selector", topic: "t.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.>", Selector: `region == "eu" && amount > 10`}}},
	{name: "group", topic: "t.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.*", Group: "g", Selector: `region == "eu"`}, {SID: 2, Pattern: "t.*", Group: "g"}}},
	{name: "rules", topic: "legacy.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.>"}, {SID: 2, Pattern: "copy.>"}}, rules: true},
	{name: "binding", topic: "t.a", subs: []wire.SubSpec{{SID: 1, Pattern: "t.>"}}, bind: true},
}

// pubRig drives a loop by hand: one publisher, one subscribing client.
type pubRig struct {
	l     *loop
	pub   *client
	rd    *ring.Consumer
	frame []byte
	id    uint64
	ttl   int64
	got   int
	read  func(typ, flags uint16, p []byte)
	after func()
}

func newPubRig(tb testing.TB, tc pubCase) *pubRig {
	tb.Helper()
	dir := tb.TempDir()
	r := &Router{cfg: Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)}, inUse: map[uint64]bool{}}
	r.cfg.fill()
	if tc.rules {
		e, err := rules.Parse([]byte(pubRigRules))
		if err != nil {
			tb.Fatal(err)
		}
		r.rules.Store(e)
	}
	g := &pubRig{l: newLoop(r), ttl: tc.ttl}
	tb.Cleanup(g.l.qs.close)
	rawN++
	g.pub, _ = loopClient(tb, g.l, dir, fmt.Sprintf("pr-pub-%d", rawN), 1)
	_, g.rd = loopClient(tb, g.l, dir, fmt.Sprintf("pr-sub-%d", rawN), 2, tc.subs...)
	if tc.bind {
		for _, req := range []wire.Ctl{
			{Token: 1, Op: wire.CtlDeclare, Body: []byte(`{"name":"bound.q"}`)},
			{Token: 2, Op: wire.CtlBind, Body: []byte(`{"name":"bound.q","pattern":"t.*"}`)},
		} {
			f := make([]byte, req.Size())
			req.Encode(f)
			g.l.onRecord(g.pub, wire.TypeCtl, f)
		}
		g.after = func() { g.l.qs.queues["bound.q"].q.Purge() }
	}
	m := wire.Msg{ID: 1, Topic: []byte(tc.topic), Data: make([]byte, 64),
		Headers: wire.AppendHeaders(nil, map[string][]string{"region": {"eu"}, "amount": {"100"}})}
	if tc.ttl > 0 {
		m.Deadline = uint64(ipc.MonotonicNanos() + tc.ttl) // far ahead: checked, never reached
	}
	g.frame = make([]byte, m.Size())
	m.Encode(g.frame)
	g.read = func(typ, _ uint16, p []byte) {
		if typ == wire.TypeMsg {
			g.got++
		}
	}
	return g
}

// cycle publishes one message, flushes the loop and reads the deliveries.
func (g *pubRig) cycle(tb testing.TB) {
	g.id++
	putU64(g.frame[0:], g.id) // a fresh id (queues refuse duplicates)
	if !g.l.onRecord(g.pub, wire.TypePub, g.frame) {
		tb.Fatal("publish held")
	}
	g.l.flush()
	g.rd.Read(g.read, 0)
	g.pub.out.Flush()
	if g.after != nil {
		g.after()
	}
}

func putU64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

// TestPublishLoopAllocs: in the steady state a publish through the loop
// (decode, match, TTL, selectors, rules, bindings, copy into the
// subscriber's ring) allocates nothing.
func TestPublishLoopAllocs(t *testing.T) {
	for _, tc := range pubCases {
		t.Run(tc.name, func(t *testing.T) {
			g := newPubRig(t, tc)
			for range 300 {
				g.cycle(t)
			}
			if g.got == 0 {
				t.Fatal("nothing delivered")
			}
			if a := testing.AllocsPerRun(1000, func() { g.cycle(t) }); a != 0 {
				t.Errorf("%v allocations per publish", a)
			}
		})
	}
}

// BenchmarkPublishLoop is the loop's cost of one published message in each
// shape (the subscriber's read of its ring included): plain against ttl,
// selector, group with selectors, rules and a queue binding shows what
// each feature adds per message.
func BenchmarkPublishLoop(b *testing.B) {
	for _, tc := range pubCases {
		b.Run(tc.name, func(b *testing.B) {
			g := newPubRig(b, tc)
			for range 100 {
				g.cycle(b)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.cycle(b)
			}
		})
	}
}
