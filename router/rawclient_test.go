package router

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// rawClient speaks the protocol directly (no bus package), so these tests
// pin the router's side of it.
type rawClient struct {
	t    testing.TB
	dir  string
	seg  *conn.Segment
	sock *net.UnixConn
	prod *ring.Producer
	cons *ring.Consumer
	id   uint64
	w    wire.Welcome
	seq  uint64
}

var rawN int

// testLogger sends the router's log to the test log (shown on failure).
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startRouter(t testing.TB) *Router {
	t.Helper()
	r, err := New(Config{Dir: t.TempDir(), StatsEvery: 10 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dialRaw(t testing.TB, dir string, subs ...wire.SubSpec) *rawClient {
	t.Helper()
	rawN++
	name := fmt.Sprintf("c-test-%d", rawN)
	seg, err := conn.Create(name, 64<<10, 64<<10, ipc.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := conn.OpenRouter(wire.RouterName, false, ipc.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	prod, err := ring.NewProducer(seg.In, ring.WithConsumerDoorbell(rs.Bell))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := ring.NewConsumer(seg.Out)
	if err != nil {
		t.Fatal(err)
	}
	sock, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: filepath.Join(dir, wire.SocketName), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, dir: dir, seg: seg, sock: sock, prod: prod, cons: cons}
	if err := wire.WriteControl(sock, wire.Hello{Version: wire.ProtocolVersion, Name: name, Segment: name, Subs: subs}); err != nil {
		t.Fatal(err)
	}
	if err := wire.ReadControl(sock, &c.w); err != nil {
		t.Fatal(err)
	}
	if c.w.Error != "" {
		t.Fatalf("refused: %s", c.w.Error)
	}
	c.id = c.w.ConnID
	t.Cleanup(func() { c.close() })
	return c
}

func (c *rawClient) close() {
	if c.sock != nil {
		c.sock.Close()
		c.sock = nil
		c.prod.Close()
		c.cons.Close()
		c.seg.Close(true)
	}
}

func (c *rawClient) write(typ uint16, frame []byte) {
	c.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		buf, err := c.prod.Claim(typ, len(frame))
		if err == nil {
			copy(buf, frame)
			c.prod.Commit()
			return
		}
		if !errors.Is(err, ring.ErrFull) || time.Now().After(deadline) {
			c.t.Fatalf("write: %v", err)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (c *rawClient) pub(topic, reply, data string) {
	c.seq++
	m := wire.Msg{ID: c.id<<40 | c.seq, PubTime: uint64(ipc.MonotonicNanos()), Topic: []byte(topic), Reply: []byte(reply), Data: []byte(data)}
	b := make([]byte, m.Size())
	m.Encode(b)
	c.write(wire.TypePub, b)
}

func (c *rawClient) sub(sid uint64, pattern, group string, policy uint8, block time.Duration) {
	s := wire.Sub{SID: sid, Pattern: []byte(pattern), Group: []byte(group), Policy: policy, BlockTimeout: uint64(block)}
	b := make([]byte, s.Size())
	s.Encode(b)
	c.write(wire.TypeSub, b)
}

// ping round-trips a token: every record written before it was handled.
func (c *rawClient) ping() []got {
	c.t.Helper()
	var b [8]byte
	token := uint64(time.Now().UnixNano())
	wire.PutU64(b[:], token)
	c.write(wire.TypePing, b[:])
	var msgs []got
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		pong := false
		c.cons.Read(func(typ, _ uint16, p []byte) {
			if typ == wire.TypePong {
				if v, _ := wire.DecodeU64(p); v == token {
					pong = true
				}
				return
			}
			msgs = append(msgs, decodeGot(c.t, typ, p))
		}, 0)
		if pong {
			return msgs
		}
		time.Sleep(50 * time.Microsecond)
	}
	c.t.Fatal("no pong")
	return nil
}

// drain collects what arrives within d (reading at least once).
func (c *rawClient) drain(d time.Duration) []got {
	var msgs []got
	for deadline := time.Now().Add(d); len(msgs) == 0 || time.Now().Before(deadline); {
		if len(msgs) == 0 && time.Now().After(deadline) {
			c.cons.Read(func(typ, _ uint16, p []byte) { msgs = append(msgs, decodeGot(c.t, typ, p)) }, 0)
			return msgs
		}
		c.cons.Read(func(typ, _ uint16, p []byte) { msgs = append(msgs, decodeGot(c.t, typ, p)) }, 0)
		time.Sleep(50 * time.Microsecond)
	}
	return msgs
}

type got struct {
	typ         uint16
	sid         uint64
	topic, data string
	code        uint32
	headers     map[string][]string
	// Queue frames: the message id (TypeMsg, TypeConfirm) or the token
	// (TypeCtlReply), and a delivery's priority, flags and count.
	id         uint64
	op         uint16
	prio       uint8
	flags      uint8
	deliveries uint32
}

func decodeGot(t testing.TB, typ uint16, p []byte) got {
	switch typ {
	case wire.TypeErr:
		var e wire.ErrFrame
		if err := wire.DecodeErr(p, &e); err != nil {
			t.Fatal(err)
		}
		return got{typ: typ, sid: e.SID, code: e.Code, data: string(e.Text)}
	case wire.TypeCtlReply:
		var c wire.Ctl
		if err := wire.DecodeCtl(p, &c); err != nil {
			t.Fatal(err)
		}
		return got{typ: typ, id: c.Token, op: c.Op, code: c.Code, data: string(c.Body)}
	case wire.TypeConfirm:
		var c wire.Confirm
		if err := wire.DecodeConfirm(p, &c); err != nil {
			t.Fatal(err)
		}
		return got{typ: typ, id: c.ID, code: c.Code, data: string(c.Text)}
	default:
		var m wire.Msg
		if err := wire.DecodeMsg(p, &m); err != nil {
			t.Fatal(err)
		}
		h, _ := wire.DecodeHeaders(m.Headers)
		return got{typ: typ, sid: m.SID, topic: string(m.Topic), data: string(m.Data), headers: h,
			id: m.ID, prio: m.Priority, flags: m.Flags, deliveries: m.Deliveries}
	}
}
