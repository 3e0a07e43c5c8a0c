package bus

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// fakeRouter speaks the client protocol with just enough routing for the
// client's tests: plain and queue subscriptions with '*' and '>', pongs,
// no-responder statuses, slow-consumer reports. It lets a test stop the
// router (kill) and start another on the same directory, stall it, make it
// refuse connections and inject records. The real router is tested with the
// client in router_test.go.
type fakeRouter struct {
	t    testing.TB
	dir  string
	ln   *net.UnixListener
	rseg *conn.RouterSegment

	mu      sync.Mutex
	clients []*fakeClient
	hellos  []wire.Hello
	nextID  uint64
	refuse  string // answer every Hello with this error

	paused atomic.Bool // stop reading the in rings
	noPong atomic.Bool // consume pings without answering
	pings  atomic.Int64
	badSub atomic.Int64
	stop   atomic.Bool
	wg     sync.WaitGroup

	loopMu sync.Mutex    // held by the loop during a pass, and by inject
	cs     []*fakeClient // the clients of this pass (loop only)
	ready  fakeReady     // what the loop parks on
	rr     int           // queue-group round robin (loop only)

	fakeQueues // queues (fakequeue_test.go)
}

type fakeClient struct {
	id      uint64
	sock    net.Conn
	seg     *conn.Segment
	in      *ring.Consumer
	out     *ring.Producer
	subs    map[uint64]wire.SubSpec // loop only, after add
	handler ring.Handler
	gone    atomic.Bool
	checked bool // its Hello's consumers were checked (loop only)
}

// startFake starts a fake router on dir; it is killed at the end of the
// test if still running. firstID is the first connection id it gives.
func startFake(t testing.TB, dir string) *fakeRouter {
	t.Helper()
	return startFakeID(t, dir, 1)
}

func startFakeID(t testing.TB, dir string, firstID uint64) *fakeRouter {
	t.Helper()
	return startFakeWith(t, dir, firstID, false)
}

// startFakeWith can start the router paused: it accepts connections (and
// registers the subscriptions of their Hellos) but reads no ring yet.
func startFakeWith(t testing.TB, dir string, firstID uint64, paused bool) *fakeRouter {
	t.Helper()
	rseg, err := conn.OpenRouter(wire.RouterName, true, ipc.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(dir, wire.SocketName), Net: "unix"})
	if err != nil {
		rseg.Close()
		t.Fatal(err)
	}
	f := &fakeRouter{t: t, dir: dir, ln: ln, rseg: rseg, nextID: firstID}
	f.ready.f = f
	f.paused.Store(paused)
	f.wg.Add(2)
	go f.accept()
	go f.loop()
	t.Cleanup(f.kill)
	return f
}

// kill stops the router as a crash would look to clients: the socket
// closes, nobody reads the rings any more. The rings are released so that
// another router of this process can attach.
func (f *fakeRouter) kill() {
	if f.stop.Swap(true) {
		return
	}
	f.ln.Close()
	f.mu.Lock()
	for _, c := range f.clients {
		c.sock.Close()
	}
	f.mu.Unlock()
	f.rseg.Bell.Ring()
	f.wg.Wait()
	for _, c := range f.clients {
		c.release()
	}
	f.clients = nil
	f.rseg.Close()
}

func (c *fakeClient) release() {
	c.in.Close()
	c.out.Close()
	c.seg.Close(false)
}

func (f *fakeRouter) helloLog() []wire.Hello {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.Hello(nil), f.hellos...)
}

func (f *fakeRouter) accept() {
	defer f.wg.Done()
	for {
		sock, err := f.ln.Accept()
		if err != nil {
			return
		}
		if err := f.admit(sock); err != nil {
			sock.Close()
		}
	}
}

func (f *fakeRouter) admit(sock net.Conn) error {
	var h wire.Hello
	if err := wire.ReadControl(sock, &h); err != nil {
		return err
	}
	f.mu.Lock()
	f.hellos = append(f.hellos, h)
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != "" {
		wire.WriteControl(sock, wire.Welcome{Version: wire.ProtocolVersion, Error: refuse})
		return fmt.Errorf("refused")
	}
	seg, err := conn.Open(h.Segment, ipc.WithDir(f.dir))
	if err != nil {
		return err
	}
	in, err := ring.NewConsumer(seg.In)
	if err != nil {
		seg.Close(false)
		return err
	}
	out, err := ring.NewProducer(seg.Out)
	if err != nil {
		in.Close()
		seg.Close(false)
		return err
	}
	c := &fakeClient{sock: sock, seg: seg, in: in, out: out, subs: map[uint64]wire.SubSpec{}}
	c.handler = func(typ, _ uint16, p []byte) { f.onRecord(c, typ, p) }
	for _, s := range h.Subs {
		c.subs[s.SID] = s
	}
	f.mu.Lock()
	if h.ConnID != 0 {
		c.id = h.ConnID
	} else {
		c.id = f.nextID
		f.nextID++
	}
	f.mu.Unlock()
	// Register the client (and its Hello's subscriptions) before the
	// Welcome: once the client has it, its subscriptions are live.
	f.mu.Lock()
	if f.stop.Load() {
		f.mu.Unlock()
		c.release()
		return fmt.Errorf("stopping")
	}
	f.clients = append(f.clients, c)
	f.mu.Unlock()
	w := wire.Welcome{Version: wire.ProtocolVersion, ConnID: c.id, Inbox: fmt.Sprintf("_INBOX.%d", c.id), MaxPayload: 1 << 16}
	if err := wire.WriteControl(sock, w); err != nil {
		c.gone.Store(true) // the loop releases it
		return err
	}
	f.wg.Add(1) // the accept goroutine is still counted: see kill
	go func() {
		defer f.wg.Done()
		var b [1]byte
		for {
			if _, err := sock.Read(b[:]); err != nil {
				c.gone.Store(true)
				f.rseg.Bell.Ring()
				return
			}
		}
	}()
	return nil
}

// loop is the router's event loop: read every client's in ring, route.
func (f *fakeRouter) loop() {
	defer f.wg.Done()
	for !f.stop.Load() {
		f.loopMu.Lock()
		f.mu.Lock()
		// Drop clients whose socket closed (the client closed).
		live := f.clients[:0]
		for _, c := range f.clients {
			if c.gone.Load() && !f.stop.Load() {
				f.clientGone(c)
				c.release()
				continue
			}
			live = append(live, c)
		}
		f.clients = live
		f.cs = append(f.cs[:0], f.clients...)
		f.mu.Unlock()
		work := 0
		if !f.paused.Load() {
			for _, c := range f.cs {
				if !c.checked {
					c.checked = true
					f.checkResumed(c)
				}
				work += c.in.Read(c.handler, 0)
			}
			work += f.pump()
		}
		f.loopMu.Unlock()
		if work == 0 {
			f.rseg.Bell.Wait(&f.ready, time.Millisecond)
		}
	}
}

// pause stops the loop reading the in rings; when it returns, no pass is
// under way. resume starts it again.
func (f *fakeRouter) pause() {
	f.paused.Store(true)
	f.loopMu.Lock()
	f.loopMu.Unlock()
}

func (f *fakeRouter) resume() {
	f.paused.Store(false)
	f.rseg.Bell.Ring()
}

type fakeReady struct{ f *fakeRouter }

func (r *fakeReady) Ready() bool {
	if r.f.stop.Load() {
		return true
	}
	for _, c := range r.f.cs {
		if c.gone.Load() || (!r.f.paused.Load() && c.in.Ready()) {
			return true
		}
	}
	return false
}

func (f *fakeRouter) onRecord(c *fakeClient, typ uint16, p []byte) {
	switch typ {
	case wire.TypePub:
		var m wire.Msg
		if err := wire.DecodeMsg(p, &m); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		f.enqueueBound(m.Topic, p)
		if !f.route(m.Topic, p) && len(m.Reply) > 0 {
			st := wire.Msg{Topic: m.Reply, Headers: wire.AppendHeaders(nil, map[string][]string{"Status": {"503"}})}
			if buf, err := c.out.Claim(wire.TypeStatus, st.Size()); err == nil {
				st.Encode(buf)
				c.out.Commit()
			}
		}
	case wire.TypeSub:
		var s wire.Sub
		if err := wire.DecodeSub(p, &s); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		if _, dup := c.subs[s.SID]; dup || ValidatePattern(string(s.Pattern)) != nil {
			f.badSub.Add(1)
			f.sendErr(c, wire.CodeBadSub, s.SID, "refused")
			return
		}
		c.subs[s.SID] = wire.SubSpec{SID: s.SID, Pattern: string(s.Pattern), Group: string(s.Group), Policy: s.Policy,
			BlockTimeoutNS: s.BlockTimeout, Selector: string(s.Selector)}
	case wire.TypeUnsub:
		sid, _ := wire.DecodeU64(p)
		if spec, ok := c.subs[sid]; ok && spec.Queue != "" {
			f.consumerGone(c, sid)
		}
		delete(c.subs, sid)
	case wire.TypeCtl, wire.TypeSend, wire.TypeConsume, wire.TypeSettle:
		f.onQueueRecord(c, typ, p)
	case wire.TypePing:
		f.pings.Add(1)
		if f.noPong.Load() {
			return
		}
		if buf, err := c.out.Claim(wire.TypePong, len(p)); err == nil {
			copy(buf, p)
			c.out.Commit()
		}
	}
}

// route delivers frame to every matching plain subscription and to one
// member of each matching queue group; it reports whether any matched.
func (f *fakeRouter) route(topic, frame []byte) bool {
	t := unsafe.String(unsafe.SliceData(topic), len(topic))
	matched := false
	var groups map[string][]*fakeTarget
	for _, c := range f.cs {
		for sid, s := range c.subs {
			if s.Queue != "" || !fakeMatch(s.Pattern, t) || !fakeSelects(s.Selector, frame) {
				continue
			}
			matched = true
			if s.Group == "" {
				f.deliver(c, sid, frame)
				continue
			}
			if groups == nil {
				groups = map[string][]*fakeTarget{}
			}
			groups[s.Group] = append(groups[s.Group], &fakeTarget{c, sid})
		}
	}
	for _, members := range groups {
		f.rr++
		m := members[f.rr%len(members)]
		f.deliver(m.c, m.sid, frame)
	}
	return matched
}

type fakeTarget struct {
	c   *fakeClient
	sid uint64
}

func (f *fakeRouter) deliver(c *fakeClient, sid uint64, frame []byte) {
	buf, err := c.out.Claim(wire.TypeMsg, len(frame))
	if err != nil {
		f.sendErr(c, wire.CodeSlowConsumer, sid, "1 messages dropped")
		return
	}
	copy(buf, frame)
	wire.SetSID(buf, sid)
	c.out.Commit()
}

func (f *fakeRouter) sendErr(c *fakeClient, code uint32, sid uint64, text string) {
	e := wire.ErrFrame{Code: code, SID: sid, Text: []byte(text)}
	if buf, err := c.out.Claim(wire.TypeErr, e.Size()); err == nil {
		e.Encode(buf)
		c.out.Commit()
	}
}

// fakeMatch is the NATS matching rule, token by token.
func fakeMatch(pattern, topic string) bool {
	for {
		pt, prest, pmore := strings.Cut(pattern, ".")
		tt, trest, tmore := strings.Cut(topic, ".")
		if pt == ">" {
			return true
		}
		if pt != "*" && pt != tt {
			return false
		}
		if !pmore || !tmore {
			return pmore == tmore
		}
		pattern, topic = prest, trest
	}
}

// inject writes a record into every client's out ring, as the router
// would, from the test goroutine.
func (f *fakeRouter) inject(typ uint16, payload []byte) {
	f.loopMu.Lock()
	defer f.loopMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.clients {
		if err := c.out.Write(typ, payload); err != nil {
			f.t.Errorf("inject: %v", err)
		}
	}
}
