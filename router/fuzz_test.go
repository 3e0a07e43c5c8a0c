package router

import (
	"fmt"
	"testing"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// loopClient attaches a client to l directly (no socket), as admit would.
func loopClient(t testing.TB, l *loop, dir, name string, id uint64, subs ...wire.SubSpec) (*client, *ring.Consumer) {
	t.Helper()
	seg, err := conn.Create(name, 16<<10, 16<<10, ipc.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	in, err := ring.NewConsumer(seg.In, ring.WithDeferredRelease())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ring.NewProducer(seg.Out)
	if err != nil {
		t.Fatal(err)
	}
	// The subscriber side reads the out ring as another "process".
	sub, err := ring.NewConsumer(seg.Out, ring.WithIdentity(ipc.Process{PID: 1<<22 - 2, StartTime: 1}))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(id, &wire.Hello{Name: name, Segment: name, Subs: subs}, ipc.Self(), seg, in, out)
	l.add(c)
	t.Cleanup(func() { sub.Close(); c.release(true) })
	return c, sub
}

// FuzzRecord feeds one arbitrary record (type and payload) from a client to
// the router's handler, then a valid publish. The router must not panic, a
// subscriber must only ever see well-formed frames, and the valid publish
// after the garbage must still arrive.
func FuzzRecord(f *testing.F) {
	m := wire.Msg{Topic: []byte("a.b"), Reply: []byte("r.1"), Data: []byte("x")}
	mb := make([]byte, m.Size())
	m.Encode(mb)
	s := wire.Sub{SID: 9, Pattern: []byte("a.*"), Group: []byte("g")}
	sb := make([]byte, s.Size())
	s.Encode(sb)
	f.Add(wire.TypePub, mb)
	f.Add(wire.TypeSub, sb)
	f.Add(wire.TypeUnsub, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Add(wire.TypePing, []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint16(77), []byte("garbage"))
	f.Add(wire.TypePub, []byte{})
	// Queue frames (a queue "q" exists, consumed by the subscriber).
	ctl := func(op uint16, body string) []byte {
		c := wire.Ctl{Token: 1, Op: op, Body: []byte(body)}
		b := make([]byte, c.Size())
		c.Encode(b)
		return b
	}
	f.Add(wire.TypeCtl, ctl(wire.CtlDeclare, `{"name":"q2","config":{"max_msgs":2,"overflow":"drop-oldest","dead_letter":"topic:a.dead"}}`))
	f.Add(wire.TypeCtl, ctl(wire.CtlBind, `{"name":"q","pattern":"after.>"}`))
	f.Add(wire.TypeCtl, ctl(wire.CtlList, ``))
	f.Add(wire.TypeCtl, ctl(wire.CtlPurge, `{"name":"q"}`))
	f.Add(wire.TypeCtl, ctl(wire.CtlDelete, `{"name":"q"}`))
	f.Add(wire.TypeCtl, ctl(wire.CtlDeclare, `{"name":"",`))
	f.Add(wire.TypeCtl, []byte{1, 2})
	qm := wire.Msg{ID: 7, Topic: []byte("q"), Priority: 9, Headers: wire.AppendHeaders(nil, map[string][]string{"k": {"v"}}), Data: []byte("x")}
	qb := make([]byte, qm.Size())
	qm.Encode(qb)
	f.Add(wire.TypeSend, qb)
	con := wire.Consume{SID: 5, Prefetch: 1, Queue: []byte("q"), Selector: []byte(`k == "v"`)}
	cb := make([]byte, con.Size())
	con.Encode(cb)
	f.Add(wire.TypeConsume, cb)
	st := wire.Settle{SID: 5, ID: 7, Op: wire.SettleNak, Delay: 1}
	stb := make([]byte, wire.SettleSize)
	st.Encode(stb)
	f.Add(wire.TypeSettle, stb)
	n := 0
	f.Fuzz(func(t *testing.T, typ uint16, payload []byte) {
		n++
		dir := t.TempDir()
		r := &Router{cfg: Config{Dir: dir, Logger: testLogger(t)}, inUse: map[uint64]bool{}}
		r.cfg.fill()
		l := newLoop(r)
		bad, _ := loopClient(t, l, dir, fmt.Sprintf("bad-%d", n), 1)
		l.onRecord(bad, wire.TypeCtl, ctl(wire.CtlDeclare, `{"name":"q"}`))
		_, subRing := loopClient(t, l, dir, fmt.Sprintf("sub-%d", n), 2, wire.SubSpec{SID: 1, Pattern: ">"},
			wire.SubSpec{SID: 2, Queue: "q"})
		if typ != ring.TypePadding {
			for i := 0; i < 3 && !l.onRecord(bad, typ, payload); i++ {
			}
		}
		l.queueWork()
		ok := wire.Msg{Topic: []byte("after.garbage"), Data: []byte("fine")}
		ob := make([]byte, ok.Size())
		ok.Encode(ob)
		l.onRecord(bad, wire.TypePub, ob)
		l.flush()
		seen := false
		subRing.Read(func(typ uint16, _ uint16, p []byte) {
			var m wire.Msg
			if typ == wire.TypeErr { // its queue consumer told of a deleted queue
				var e wire.ErrFrame
				if err := wire.DecodeErr(p, &e); err != nil || e.SID != 2 || e.Code != wire.CodeQueueDeleted {
					t.Fatalf("subscriber got error frame %+v, %v", e, err)
				}
				return
			}
			if typ != wire.TypeMsg && typ != wire.TypeStatus {
				t.Fatalf("subscriber got record type %d", typ)
			}
			if err := wire.DecodeMsg(p, &m); err != nil {
				t.Fatalf("subscriber got a malformed frame: %v", err)
			}
			if string(m.Topic) == "after.garbage" {
				seen = true
			}
		}, 0)
		if !seen {
			t.Fatal("the valid publish after the garbage did not arrive")
		}
	})
}
