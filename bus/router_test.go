package bus

import (
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/router"
)

// These tests run the client against the real router, in process.

func startRouter(t testing.TB, dir string) *router.Router {
	t.Helper()
	r, err := router.New(router.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		r.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestWithRouter(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	a, b := connect(t, dir, WithName("a")), connect(t, dir, WithName("b"))

	t.Run("order", func(t *testing.T) {
		s, _ := b.SubscribeSync("seq.>")
		b.Flush()
		for i := range 500 {
			a.Publish("seq.x", []byte(strconv.Itoa(i)))
		}
		for i := range 500 {
			m, err := s.NextMsg(waitLimit)
			if err != nil || string(m.Data) != strconv.Itoa(i) || m.Topic != "seq.x" {
				t.Fatalf("message %d: %v %v", i, m, err)
			}
		}
	})
	t.Run("wildcards", func(t *testing.T) {
		star, _ := b.SubscribeSync("w.*")
		full, _ := b.SubscribeSync("w.>")
		b.Flush()
		a.Publish("w.1", nil)
		a.Publish("w.1.2", nil)
		a.Flush()
		if m, err := star.NextMsg(waitLimit); err != nil || m.Topic != "w.1" {
			t.Fatalf("w.*: %v %v", m, err)
		}
		for _, want := range []string{"w.1", "w.1.2"} {
			if m, err := full.NextMsg(waitLimit); err != nil || m.Topic != want {
				t.Fatalf("w.>: %v %v, want %s", m, err, want)
			}
		}
		if star.Pending() != 0 {
			t.Fatal("w.* matched w.1.2")
		}
	})
	t.Run("same ring subscribe then publish", func(t *testing.T) {
		s, _ := a.SubscribeSync("self")
		a.Publish("self", []byte("x"))
		if _, err := s.NextMsg(waitLimit); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("queue", func(t *testing.T) {
		var n1, n2 atomic.Int64
		a.QueueSubscribe("q", "g", func(*Msg) { n1.Add(1) })
		b.QueueSubscribe("q", "g", func(*Msg) { n2.Add(1) })
		a.Flush()
		b.Flush()
		for range 100 {
			a.Publish("q", nil)
		}
		waitFor(t, "queue deliveries", func() bool { return n1.Load()+n2.Load() == 100 })
		a.Flush()
		b.Flush()
		if n1.Load()+n2.Load() != 100 {
			t.Fatalf("%d + %d deliveries", n1.Load(), n2.Load())
		}
	})
	t.Run("request", func(t *testing.T) {
		b.Subscribe("svc.echo", func(m *Msg) { m.Respond(m.Data) })
		b.Flush()
		r, err := a.Request("svc.echo", []byte("hi"), waitLimit)
		if err != nil || string(r.Data) != "hi" {
			t.Fatalf("%v %v", r, err)
		}
		if _, err := a.Request("svc.none", nil, waitLimit); !errors.Is(err, ErrNoResponders) {
			t.Fatalf("no responders: %v", err)
		}
	})
	t.Run("unsubscribe", func(t *testing.T) {
		var n atomic.Int64
		s, _ := b.Subscribe("u", func(*Msg) { n.Add(1) })
		b.Flush()
		a.Publish("u", nil)
		waitFor(t, "first", func() bool { return n.Load() == 1 })
		s.Unsubscribe()
		b.Flush()
		a.Publish("u", nil)
		a.Flush()
		b.Flush()
		if n.Load() != 1 {
			t.Fatalf("%d deliveries after Unsubscribe", n.Load())
		}
	})
	t.Run("block policy", func(t *testing.T) {
		c := connect(t, dir, WithRingSize(1<<20, 4096))
		var n atomic.Int64
		c.Subscribe("slow", func(*Msg) { time.Sleep(10 * time.Microsecond); n.Add(1) }, WithBlock(waitLimit))
		c.Flush()
		for range 500 {
			if err := a.Publish("slow", make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "every message, none dropped", func() bool { return n.Load() == 500 })
		if c.Stats().Dropped != 0 {
			t.Fatalf("dropped %d", c.Stats().Dropped)
		}
	})
}

// A subscriber that does not keep up under the Drop policy loses messages;
// the router says so, and the client counts and reports it.
func TestWithRouterSlowConsumer(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	var errs errLog
	pub := connect(t, dir)
	sub := connect(t, dir, WithRingSize(1<<20, 4096), WithErrorHandler(errs.handler))
	release := make(chan struct{})
	var n atomic.Int64
	s, _ := sub.Subscribe("flood", func(*Msg) { <-release; n.Add(1) })
	sub.Flush()
	const total = 1000
	for range total {
		pub.Publish("flood", make([]byte, 100))
	}
	pub.Flush()
	close(release)
	waitFor(t, "the drop report", func() bool { return s.Dropped() > 0 })
	waitFor(t, "every message delivered or dropped", func() bool { return uint64(n.Load())+s.Dropped() == total })
	if st := sub.Stats(); st.Dropped != s.Dropped() {
		t.Fatalf("stats %+v, subscription dropped %d", st, s.Dropped())
	}
	waitFor(t, "the error handler", func() bool { return len(errs.all()) > 0 })
	if err := errs.all()[0]; !errors.Is(err, ErrSlowConsumer) {
		t.Fatal(err)
	}
}

// The router restarts: subscriptions come back, and what was published
// while it was down is delivered.
func TestWithRouterRestart(t *testing.T) {
	dir := t.TempDir()
	r := startRouter(t, dir)
	ev := newEvents()
	c := connect(t, dir, ev.opts()...)
	s, _ := c.SubscribeSync("r.>")
	c.Publish("r.0", []byte("0"))
	if _, err := s.NextMsg(waitLimit); err != nil {
		t.Fatal(err)
	}
	r.Close()
	<-ev.disconnected
	for i := 1; i <= 100; i++ {
		if err := c.Publish("r.x", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	startRouter(t, dir)
	<-ev.reconnected
	for i := 1; i <= 100; i++ {
		m, err := s.NextMsg(waitLimit)
		if err != nil || string(m.Data) != strconv.Itoa(i) {
			t.Fatalf("message %d: %v %v", i, m, err)
		}
	}
	c.Subscribe("svc", func(m *Msg) { m.Respond([]byte("ok")) })
	if r, err := c.Request("svc", nil, waitLimit); err != nil || string(r.Data) != "ok" {
		t.Fatalf("request after the restart: %v %v", r, err)
	}
}
