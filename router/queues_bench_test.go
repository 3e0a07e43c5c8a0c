package router

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

// queueRig is a loop driven by hand (no goroutine, no sockets) with a
// sender and consumers attached as admit would, for measuring one message
// through the loop: TypeSend -> confirm + delivery -> TypeSettle ack.
type queueRig struct {
	l        *loop
	sender   *client
	confirms *ring.Consumer
	cons     []*client
	rings    []*ring.Consumer
	send     []byte // the TypeSend frame; its id is patched per message
	ack      []byte // the TypeSettle frame; sid and id patched
	id       uint64
	// What the readers saw (their handlers are made once: no allocation).
	gotID, gotSID uint64
	gotCode       uint32
	readDelivery  func(typ, flags uint16, p []byte)
	readConfirm   func(typ, flags uint16, p []byte)
}

func newQueueRig(tb testing.TB, consumers int, sel string, payload int) *queueRig {
	tb.Helper()
	dir := tb.TempDir()
	r := &Router{cfg: Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)}, inUse: map[uint64]bool{}}
	r.cfg.fill()
	g := &queueRig{l: newLoop(r)}
	tb.Cleanup(g.l.qs.close)
	g.sender, g.confirms = loopClient(tb, g.l, dir, fmt.Sprintf("qb-sender-%d", rawN), 1)
	rawN++
	req := wire.Ctl{Token: 1, Op: wire.CtlDeclare, Body: []byte(`{"name":"bench.q"}`)}
	f := make([]byte, req.Size())
	req.Encode(f)
	g.l.onRecord(g.sender, wire.TypeCtl, f)
	for i := range consumers {
		c, rg := loopClient(tb, g.l, dir, fmt.Sprintf("qb-cons-%d-%d", rawN, i), uint64(10+i),
			wire.SubSpec{SID: uint64(100 + i), Queue: "bench.q", Prefetch: 8, Selector: sel})
		g.cons, g.rings = append(g.cons, c), append(g.rings, rg)
	}
	rawN++
	g.l.queueWork()
	g.confirms.Read(func(typ, _ uint16, p []byte) {
		var c wire.Ctl
		if typ != wire.TypeCtlReply || wire.DecodeCtl(p, &c) != nil || c.Code != 0 {
			tb.Fatalf("declare: type %d %+v", typ, c)
		}
	}, 0)
	m := wire.Msg{Topic: []byte("bench.q"), Priority: 4, Data: make([]byte, payload),
		Headers: wire.AppendHeaders(nil, map[string][]string{"region": {"eu"}})}
	g.send = make([]byte, m.Size())
	m.Encode(g.send)
	g.ack = make([]byte, wire.SettleSize)
	s := wire.Settle{Op: wire.SettleAck}
	s.Encode(g.ack)
	g.readDelivery = func(typ, _ uint16, p []byte) {
		if typ == wire.TypeMsg {
			g.gotID = binary.LittleEndian.Uint64(p[0:])
			g.gotSID = binary.LittleEndian.Uint64(p[24:])
		}
	}
	g.readConfirm = func(typ, _ uint16, p []byte) {
		if typ == wire.TypeConfirm {
			g.gotCode = binary.LittleEndian.Uint32(p[8:])
		}
	}
	return g
}

// cycle sends one message, lets the loop deliver it, reads it from the
// consumer ring it went to, acks it and reads the confirm.
func (g *queueRig) cycle(tb testing.TB) {
	g.id++
	binary.LittleEndian.PutUint64(g.send[0:], g.id)
	if !g.l.onRecord(g.sender, wire.TypeSend, g.send) {
		tb.Fatal("send held")
	}
	g.l.queueWork()
	g.gotID = 0
	for i, rg := range g.rings {
		if rg.Read(g.readDelivery, 0) > 0 {
			if g.gotID != g.id {
				tb.Fatalf("delivered %d, want %d", g.gotID, g.id)
			}
			binary.LittleEndian.PutUint64(g.ack[0:], g.gotSID)
			binary.LittleEndian.PutUint64(g.ack[8:], g.gotID)
			g.l.onRecord(g.cons[i], wire.TypeSettle, g.ack)
			break
		}
	}
	if g.gotID == 0 {
		tb.Fatal("nothing delivered")
	}
	g.l.queueWork()
	g.gotCode = 99
	g.confirms.Read(g.readConfirm, 0)
	if g.gotCode != 0 {
		tb.Fatalf("confirm code %d", g.gotCode)
	}
}

// TestQueueLoopAllocs: in the steady state, a message through the loop
// (send, confirm, delivery, ack) allocates nothing, with one consumer or
// two (round robin), and with a selector.
func TestQueueLoopAllocs(t *testing.T) {
	for _, tc := range []struct {
		consumers int
		sel       string
	}{{1, ""}, {2, ""}, {2, `region == "eu"`}} {
		g := newQueueRig(t, tc.consumers, tc.sel, 128)
		for range 200 { // warm the pools, maps and scratch slices
			g.cycle(t)
		}
		if a := testing.AllocsPerRun(1000, func() { g.cycle(t) }); a != 0 {
			t.Errorf("consumers=%d selector=%q: %v allocations per send/deliver/ack", tc.consumers, tc.sel, a)
		}
		q := g.l.qs.queues["bench.q"].q.Stats()
		if q.Depth != 0 || q.Acked != q.Enqueued || q.Enqueued != 1201 { // AllocsPerRun runs it once more to warm up
			t.Errorf("after the cycles: %+v", q)
		}
	}
}

// BenchmarkQueueSendDeliverAck is the loop's cost of one queued message:
// TypeSend decoded and pushed, the confirm written, the delivery peeked,
// claimed in the consumer's ring and copied, the TypeSettle ack, and the
// rings read back by the test (the client side's reads are included).
func BenchmarkQueueSendDeliverAck(b *testing.B) {
	for _, bc := range []struct {
		consumers int
		sel       string
		name      string
	}{{1, "", "consumers=1"}, {4, "", "consumers=4"}, {1, `region == "eu"`, "consumers=1/selector"}} {
		for _, size := range []int{64, 1024} {
			b.Run(fmt.Sprintf("%s/size=%d", bc.name, size), func(b *testing.B) {
				g := newQueueRig(b, bc.consumers, bc.sel, size)
				for range 100 {
					g.cycle(b)
				}
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					g.cycle(b)
				}
			})
		}
	}
}

// A sender that does not read its ring: its confirm waits (the record stays
// at the head of its ring) until it reads, and the push is not repeated.
// The same for a ctl reply.
func TestQueueAnswerHeldWhileRingFull(t *testing.T) {
	g := newQueueRig(t, 0, "", 64)
	q := g.l.qs.queues["bench.q"].q
	sent := 0
	for held := false; !held; {
		g.id++
		binary.LittleEndian.PutUint64(g.send[0:], g.id)
		if g.l.onRecord(g.sender, wire.TypeSend, g.send) {
			sent++
			g.l.queueWork()
			continue
		}
		held = true
		for range 3 { // presented again: still no room, still held
			if g.l.onRecord(g.sender, wire.TypeSend, g.send) {
				t.Fatal("held confirm written without room")
			}
		}
	}
	if s := q.Stats(); int(s.Enqueued) != sent+1 {
		t.Fatalf("%d confirmed sends, %d enqueued: want the held one pushed once", sent, s.Enqueued)
	}
	confirms := 0
	g.confirms.Read(func(typ, _ uint16, p []byte) { confirms++ }, 0)
	if !g.l.onRecord(g.sender, wire.TypeSend, g.send) {
		t.Fatal("confirm still held after the sender read its ring")
	}
	g.l.queueWork()
	g.confirms.Read(func(typ, _ uint16, p []byte) { confirms++ }, 0)
	if s := q.Stats(); confirms != sent+1 || int(s.Enqueued) != sent+1 {
		t.Fatalf("%d confirms, %d enqueued, want %d of each", confirms, s.Enqueued, sent+1)
	}

	// A ctl whose reply finds the ring full: done once, answered later.
	for g.id++; ; g.id++ {
		binary.LittleEndian.PutUint64(g.send[0:], g.id)
		if !g.l.onRecord(g.sender, wire.TypeSend, g.send) {
			break
		}
		g.l.flush()
	}
	g.confirms.Read(func(uint16, uint16, []byte) {}, 0)
	g.l.onRecord(g.sender, wire.TypeSend, g.send)
	g.l.flush()
	for g.id++; ; g.id++ { // fill it again, to the last byte a confirm takes
		binary.LittleEndian.PutUint64(g.send[0:], g.id)
		if !g.l.onRecord(g.sender, wire.TypeSend, g.send) {
			break
		}
		g.l.flush()
	}
	g.sender.qhold = qhold{} // drop that send (as if never read), keep the ring full
	g.l.flush()
	req := wire.Ctl{Token: 77, Op: wire.CtlDeclare, Body: []byte(`{"name":"held.q"}`)}
	f := make([]byte, req.Size())
	req.Encode(f)
	if g.l.onRecord(g.sender, wire.TypeCtl, f) || g.l.onRecord(g.sender, wire.TypeCtl, f) {
		t.Fatal("ctl reply written without room")
	}
	if g.l.qs.queues["held.q"] == nil {
		t.Fatal("the ctl was not carried out")
	}
	replies := 0
	g.confirms.Read(func(typ, _ uint16, p []byte) {
		if typ == wire.TypeCtlReply {
			replies++
		}
	}, 0)
	if !g.l.onRecord(g.sender, wire.TypeCtl, f) {
		t.Fatal("reply still held")
	}
	g.l.flush()
	g.confirms.Read(func(typ, _ uint16, p []byte) {
		var c wire.Ctl
		if typ == wire.TypeCtlReply && wire.DecodeCtl(p, &c) == nil && c.Token == 77 && c.Code == 0 {
			replies++
		}
	}, 0)
	if replies != 1 || g.l.qs.reg.Len() != 2 {
		t.Fatalf("%d replies, %d queues", replies, g.l.qs.reg.Len())
	}
}
