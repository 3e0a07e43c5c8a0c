package bus

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// events records connection callbacks.
type events struct {
	disconnected chan error
	reconnected  chan struct{}
	closed       chan struct{}
}

func newEvents() *events {
	return &events{make(chan error, 16), make(chan struct{}, 16), make(chan struct{}, 1)}
}

func (e *events) opts() []Option {
	return []Option{
		WithReconnectWait(time.Millisecond),
		WithDisconnectHandler(func(_ *Conn, err error) { e.disconnected <- err }),
		WithReconnectHandler(func(*Conn) { e.reconnected <- struct{}{} }),
		WithClosedHandler(func(*Conn) { close(e.closed) }),
	}
}

// The router dies; the Conn keeps publishing into its ring and subscribing;
// a new router comes; everything published meanwhile is delivered, in
// order, to subscriptions old and new, and nothing is registered twice.
func TestReconnectDeliversOutageMessages(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	var errs errLog
	c := connect(t, dir, append(ev.opts(), WithErrorHandler(errs.handler))...)
	before, _ := c.SubscribeSync("events.>")
	gone, _ := c.SubscribeSync("gone")
	c.Publish("events.a", []byte("0"))
	if m, err := before.NextMsg(waitLimit); err != nil || string(m.Data) != "0" {
		t.Fatalf("before the outage: %v %v", m, err)
	}
	id, seg := c.ConnID(), c.Segment()

	f.kill()
	if err := <-ev.disconnected; !errors.Is(err, ErrNoRouter) {
		t.Fatalf("disconnect handler got %v", err)
	}
	if c.IsConnected() || c.Status() != Reconnecting {
		t.Fatalf("status %v during the outage", c.Status())
	}
	during, err := c.SubscribeSync("late.*")
	if err != nil {
		t.Fatal(err)
	}
	if err := gone.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 1; i <= n; i++ {
		if err := c.Publish("events.a", []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("publish %d during the outage: %v", i, err)
		}
	}
	c.Publish("late.x", []byte("late"))
	c.Publish("gone", nil)
	flushed := make(chan error, 1)
	go func() { flushed <- c.FlushTimeout(waitLimit) }()

	f2 := startFakeID(t, dir, 100)
	<-ev.reconnected
	for i := 1; i <= n; i++ {
		m, err := before.NextMsg(waitLimit)
		if err != nil || string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("outage message %d: %v, %v", i, m, err)
		}
	}
	if m, err := during.NextMsg(waitLimit); err != nil || string(m.Data) != "late" {
		t.Fatalf("subscription made during the outage: %v, %v", m, err)
	}
	if err := <-flushed; err != nil {
		t.Fatalf("flush across the outage: %v", err)
	}
	if gone.Pending() != 0 {
		t.Fatal("unsubscribed during the outage, still delivered")
	}
	if c.ConnID() != id || c.Segment() != seg || !c.IsConnected() || c.Stats().Reconnects != 1 {
		t.Fatalf("after reconnect: id %d (was %d), segment %s, connected %v, %+v", c.ConnID(), id, c.Segment(), c.IsConnected(), c.Stats())
	}
	hellos := f2.helloLog()
	if len(hellos) != 1 || hellos[0].ConnID != id || hellos[0].Segment != seg {
		t.Fatalf("reconnecting hello: %+v", hellos)
	}
	var sids []uint64
	for _, s := range hellos[0].Subs {
		sids = append(sids, s.SID)
	}
	if !slices.Contains(sids, before.SID()) || slices.Contains(sids, during.SID()) || slices.Contains(sids, gone.SID()) {
		t.Fatalf("hello lists sids %v: want %d (registered), not %d (still in the ring) nor %d (unsubscribed)",
			sids, before.SID(), during.SID(), gone.SID())
	}
	if f2.badSub.Load() != 0 || len(errs.all()) != 0 {
		t.Fatalf("duplicate or refused subscriptions: %d, errors %v", f2.badSub.Load(), errs.all())
	}
	// Replies still find their way (the inbox subscription came back).
	c.Subscribe("svc", func(m *Msg) { m.Respond([]byte("ok")) })
	if r, err := c.Request("svc", nil, waitLimit); err != nil || string(r.Data) != "ok" {
		t.Fatalf("request after reconnect: %v, %v", r, err)
	}
}

// Two connections: what one published during the outage reaches the other
// once both are back (the new router starts reading when both are in).
func TestReconnectAcrossConnections(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	evs, evp := newEvents(), newEvents()
	sub := connect(t, dir, evs.opts()...)
	pub := connect(t, dir, evp.opts()...)
	var got collector
	sub.Subscribe("x.*", got.handler)
	sub.Flush()
	f.kill()
	<-evs.disconnected
	<-evp.disconnected
	for i := range 50 {
		pub.Publish("x.y", []byte(strconv.Itoa(i)))
	}
	f2 := startFakeWith(t, dir, 100, true)
	<-evs.reconnected
	<-evp.reconnected
	f2.resume()
	data := got.wait(t, 50)
	for i, d := range data {
		if d != strconv.Itoa(i) {
			t.Fatalf("message %d is %q", i, d)
		}
	}
}

// A ping the dead router consumed but never answered is sent again to the
// next one, so Flush does not wait out its timeout.
func TestReconnectResendsPings(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	c := connect(t, dir, ev.opts()...)
	f.noPong.Store(true)
	flushed := make(chan error, 1)
	go func() { flushed <- c.FlushTimeout(waitLimit) }()
	waitFor(t, "the ping to be consumed", func() bool { return f.pings.Load() == 1 })
	f.kill()
	<-ev.disconnected
	startFakeID(t, dir, 100)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
}

func TestMaxReconnectsCloses(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	c := connect(t, dir, append(ev.opts(), WithMaxReconnects(2))...)
	path := filepath.Join(dir, c.Segment())
	f.kill()
	<-ev.closed
	if !c.IsClosed() {
		t.Fatal("not closed after the last attempt")
	}
	if err := c.Publish("a", nil); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("publish: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("segment left behind: %v", err)
	}
}

func TestCloseWhileReconnecting(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	c := connect(t, dir, ev.opts()...)
	f.kill()
	<-ev.disconnected
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	<-ev.closed
}

// While the router is away the ring fills; Publish then fails with
// ErrBusFull and says why.
func TestPublishDuringOutageUntilFull(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	c := connect(t, dir, append(ev.opts(), WithRingSize(4096, 4096), WithPublishTimeout(time.Millisecond))...)
	f.kill()
	<-ev.disconnected
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Publish("a", make([]byte, 64))
	}
	if !errors.Is(err, ErrBusFull) {
		t.Fatalf("got %v, want ErrBusFull", err)
	}
}
