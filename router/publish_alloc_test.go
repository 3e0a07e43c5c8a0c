package router

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router/rules"
)

// TestPublishLoopAllocs: in the steady state a publish through the loop
// (decode, match, selectors, rules, bindings, copy into the subscriber's
// ring) allocates nothing.
func TestPublishLoopAllocs(t *testing.T) {
	ruleSet, err := rules.Parse([]byte(`
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
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		topic string
		subs  []wire.SubSpec
		rules *rules.Engine
		bind  bool
	}{
		{"plain", "t.a", []wire.SubSpec{{SID: 1, Pattern: "t.>"}}, nil, false},
		{"selector", "t.a", []wire.SubSpec{{SID: 1, Pattern: "t.>", Selector: `region == "eu" && amount > 10`}}, nil, false},
		{"group", "t.a", []wire.SubSpec{{SID: 1, Pattern: "t.*", Group: "g", Selector: `region == "eu"`}, {SID: 2, Pattern: "t.*", Group: "g"}}, nil, false},
		{"rules", "legacy.a", []wire.SubSpec{{SID: 1, Pattern: "t.>"}, {SID: 2, Pattern: "copy.>"}}, ruleSet, false},
		{"binding", "t.a", []wire.SubSpec{{SID: 1, Pattern: "t.>"}}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := &Router{cfg: Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)}, inUse: map[uint64]bool{}}
			r.cfg.fill()
			r.rules.Store(tc.rules)
			l := newLoop(r)
			t.Cleanup(l.qs.close)
			rawN++
			pub, _ := loopClient(t, l, dir, fmt.Sprintf("pa-pub-%d", rawN), 1)
			sub, rd := loopClient(t, l, dir, fmt.Sprintf("pa-sub-%d", rawN), 2, tc.subs...)
			_ = sub
			var ack func()
			if tc.bind {
				for op, body := range map[uint16]string{wire.CtlDeclare: `{"name":"bound.q"}`, wire.CtlBind: `{"name":"bound.q","pattern":"t.*"}`} {
					req := wire.Ctl{Token: 1, Op: op, Body: []byte(body)}
					f := make([]byte, req.Size())
					req.Encode(f)
					l.onRecord(pub, wire.TypeCtl, f)
				}
				ack = func() { l.qs.queues["bound.q"].q.Purge() }
			}
			m := wire.Msg{ID: 1, Topic: []byte(tc.topic), Data: make([]byte, 64),
				Headers: wire.AppendHeaders(nil, map[string][]string{"region": {"eu"}, "amount": {"100"}})}
			frame := make([]byte, m.Size())
			m.Encode(frame)
			got := 0
			read := func(typ, _ uint16, p []byte) {
				if typ == wire.TypeMsg {
					got++
				}
			}
			cycle := func() {
				m.ID++
				wire.SetSID(frame, 0)
				frame[0] = byte(m.ID) // a fresh id (queues refuse duplicates)
				frame[1] = byte(m.ID >> 8)
				if !l.onRecord(pub, wire.TypePub, frame) {
					t.Fatal("publish held")
				}
				l.flush()
				rd.Read(read, 0)
				pub.out.Flush()
				if ack != nil {
					ack()
				}
			}
			for range 300 {
				cycle()
			}
			if got == 0 {
				t.Fatal("nothing delivered")
			}
			if a := testing.AllocsPerRun(1000, cycle); a != 0 {
				t.Errorf("%v allocations per publish", a)
			}
		})
	}
}
