package router

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

// qmsg is a message a test sends to a queue or publishes.
type qmsg struct {
	topic, reply, data string
	prio               uint8
	deadline           uint64
	headers            map[string][]string
}

func (c *rawClient) frame(m qmsg) (uint64, []byte) {
	c.seq++
	id := c.id<<40 | c.seq
	w := wire.Msg{ID: id, PubTime: uint64(ipc.MonotonicNanos()), Deadline: m.deadline, Priority: m.prio,
		Topic: []byte(m.topic), Reply: []byte(m.reply), Headers: wire.AppendHeaders(nil, m.headers), Data: []byte(m.data)}
	b := make([]byte, w.Size())
	w.Encode(b)
	return id, b
}

// send writes a TypeSend and returns the message id (the confirm comes
// with the next ping).
func (c *rawClient) send(m qmsg) uint64 {
	id, b := c.frame(m)
	c.write(wire.TypeSend, b)
	return id
}

// pubm publishes m (TypePub).
func (c *rawClient) pubm(m qmsg) uint64 {
	id, b := c.frame(m)
	c.write(wire.TypePub, b)
	return id
}

func (c *rawClient) consume(sid uint64, queue string, prefetch uint32, sel string) {
	cm := wire.Consume{SID: sid, Prefetch: prefetch, Queue: []byte(queue), Selector: []byte(sel)}
	b := make([]byte, cm.Size())
	cm.Encode(b)
	c.write(wire.TypeConsume, b)
}

func (c *rawClient) settle(sid, id uint64, op uint8, delay time.Duration) {
	s := wire.Settle{SID: sid, ID: id, Op: op, Delay: uint64(delay)}
	b := make([]byte, wire.SettleSize)
	s.Encode(b)
	c.write(wire.TypeSettle, b)
}

func (c *rawClient) unsub(sid uint64) {
	var b [8]byte
	wire.PutU64(b[:], sid)
	c.write(wire.TypeUnsub, b[:])
}

// ctl sends a queue request and returns its reply (and whatever else
// arrived meanwhile).
func (c *rawClient) ctl(op uint16, body any) (got, []got) {
	c.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	c.seq++
	token := c.seq
	req := wire.Ctl{Token: token, Op: op, Body: raw}
	f := make([]byte, req.Size())
	req.Encode(f)
	c.write(wire.TypeCtl, f)
	var reply *got
	var others []got
	for _, g := range c.ping() {
		if g.typ == wire.TypeCtlReply && g.id == token {
			reply = &g
			continue
		}
		others = append(others, g)
	}
	if reply == nil {
		c.t.Fatalf("no reply to ctl op %d", op)
	}
	if reply.op != op {
		c.t.Fatalf("ctl reply op %d, want %d", reply.op, op)
	}
	return *reply, others
}

// declare declares a queue and fails the test on a refusal.
func (c *rawClient) declare(name string, cfg wire.QueueConfig) wire.QueueInfo {
	c.t.Helper()
	r, _ := c.ctl(wire.CtlDeclare, wire.QueueDeclare{Name: name, Config: cfg})
	if r.code != 0 {
		c.t.Fatalf("declare %q: code %d: %s", name, r.code, r.data)
	}
	var info wire.QueueInfo
	if err := json.Unmarshal([]byte(r.data), &info); err != nil {
		c.t.Fatal(err)
	}
	return info
}

// info returns a queue's info, ok false when the router refused.
func (c *rawClient) info(name string) (wire.QueueInfo, got) {
	c.t.Helper()
	r, _ := c.ctl(wire.CtlInfo, wire.QueueRef{Name: name})
	var info wire.QueueInfo
	if r.code == 0 {
		if err := json.Unmarshal([]byte(r.data), &info); err != nil {
			c.t.Fatal(err)
		}
	}
	return info, r
}

// collect reads until n records that keep accepts arrived, within 10 s;
// records keep refuses are returned in rest.
func (c *rawClient) collect(n int, keep func(got) bool) (kept, rest []got) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(kept) < n; {
		if time.Now().After(deadline) {
			c.t.Fatalf("collected %d of %d records (others: %+v)", len(kept), n, rest)
		}
		for _, g := range c.drain(time.Millisecond) {
			if keep(g) {
				kept = append(kept, g)
			} else {
				rest = append(rest, g)
			}
		}
	}
	return kept, rest
}

func isDelivery(g got) bool { return g.typ == wire.TypeMsg && g.flags&wire.FlagQueued != 0 }
func isConfirm(g got) bool  { return g.typ == wire.TypeConfirm }

// codes is the result codes of the confirms among gs.
func codes(gs []got) []uint32 {
	var out []uint32
	for _, g := range gs {
		if g.typ == wire.TypeConfirm {
			out = append(out, g.code)
		}
	}
	return out
}

// only keeps the records of type typ.
func only(gs []got, typ uint16) []got {
	return slices.DeleteFunc(slices.Clone(gs), func(g got) bool { return g.typ != typ })
}

func datas(gs []got) string {
	var s []string
	for _, g := range gs {
		s = append(s, g.data)
	}
	return strings.Join(s, " ")
}
