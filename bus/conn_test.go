package bus

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestConnDrain(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	pub := connect(t, dir)
	var closed = make(chan struct{})
	c := connect(t, dir, WithClosedHandler(func(*Conn) { close(closed) }))
	var got collector
	c.Subscribe("d", got.handler)
	c.Flush()
	for range 100 {
		pub.Publish("d", nil)
	}
	pub.Flush() // the router routed them all before it sees the unsubscribe
	if err := c.Drain(); err != nil {
		t.Fatal(err)
	}
	if got.len() != 100 || !c.IsClosed() || c.Status() != Closed {
		t.Fatalf("after Drain: %d messages, status %v", got.len(), c.Status())
	}
	<-closed
	if err := c.Publish("d", nil); !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("Publish after Drain: %v", err)
	}
}

func TestCloseRemovesSegmentAndFailsWaiters(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	path := filepath.Join(dir, c.Segment())
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("segment file: %v", err)
	}
	s, _ := c.SubscribeSync("x")
	res := make(chan error, 2)
	go func() { _, err := s.NextMsg(waitLimit); res <- err }()
	go func() { _, err := c.Request("nobody.listens", nil, waitLimit); res <- err }()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-res; !errors.Is(err, ErrConnectionClosed) && !errors.Is(err, ErrNoResponders) {
			t.Fatalf("waiter got %v", err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("segment file after Close: %v", err)
	}
	for _, err := range []error{
		c.Publish("x", nil), c.Flush(), c.Close(),
		func() error { _, err := c.Subscribe("x", func(*Msg) {}); return err }(),
		func() error { _, err := s.NextMsg(time.Millisecond); return err }(),
	} {
		if err != nil && !errors.Is(err, ErrConnectionClosed) {
			t.Fatalf("after Close: %v", err)
		}
	}
	if c.Publish("x", nil) == nil || c.IsConnected() {
		t.Fatal("closed Conn still publishes")
	}
}

func TestCloseFromHandler(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	done := make(chan struct{})
	c.Subscribe("stop", func(m *Msg) {
		m.conn.Close()
		close(done)
	})
	c.Publish("stop", nil)
	<-done
	waitFor(t, "closed", c.IsClosed)
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	for _, topic := range []string{"", "a..b", "a.*", "a.>", "a b", "a.b*"} {
		if err := c.Publish(topic, nil); !errors.Is(err, ErrBadTopic) {
			t.Errorf("Publish(%q): %v", topic, err)
		}
	}
	for _, pattern := range []string{"", ">.a", "a.b*", "a..b"} {
		if _, err := c.Subscribe(pattern, func(*Msg) {}); !errors.Is(err, ErrBadTopic) {
			t.Errorf("Subscribe(%q): %v", pattern, err)
		}
	}
	if err := c.PublishRequest("a", "b.*", nil); !errors.Is(err, ErrBadTopic) {
		t.Errorf("wildcard reply: %v", err)
	}
	if _, err := c.Subscribe("a", nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil handler: %v", err)
	}
	if err := c.Publish("a", make([]byte, c.MaxPayload()+1)); !errors.Is(err, ErrMaxPayload) {
		t.Errorf("oversized: %v", err)
	}
	if err := c.Publish("a", make([]byte, c.MaxPayload()-len("a"))); err != nil {
		t.Errorf("largest payload (the limit counts the topic too): %v", err)
	}
}

func TestPublishFullRing(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir, WithRingSize(4096, 4096), WithPublishTimeout(5*time.Millisecond))
	f.pause()
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		err = c.Publish("a", make([]byte, 100))
	}
	if !errors.Is(err, ErrBusFull) {
		t.Fatalf("filling a stalled ring: %v, want ErrBusFull", err)
	}
	// A publisher waiting for room goes on once the router reads again.
	c2 := connect(t, dir, WithRingSize(4096, 4096), WithPublishTimeout(waitLimit))
	for c2.inFree() >= 160 { // a 100-byte publish takes a 160-byte record
		if err := c2.Publish("a", make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error)
	go func() { done <- c2.Publish("a", make([]byte, 100)) }()
	f.resume()
	if err := <-done; err != nil {
		t.Fatalf("publish waiting for room: %v", err)
	}
}

func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Connect(WithDir(dir)); !errors.Is(err, ErrNoRouter) {
		t.Fatalf("no router: %v", err)
	}
	f := startFake(t, dir)
	f.mu.Lock()
	f.refuse = "go away"
	f.mu.Unlock()
	if _, err := Connect(WithDir(dir)); !errors.Is(err, ErrRefused) {
		t.Fatalf("refused: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "router" && e.Name() != "shmbusd.sock" {
			t.Fatalf("failed Connect left %s behind", e.Name())
		}
	}
}

func TestOptionsValidated(t *testing.T) {
	for name, o := range map[string]Option{
		"dir":        WithDir(""),
		"idle":       WithIdleStrategy("nap"),
		"idle func":  WithIdleStrategyFunc(nil),
		"timeout":    WithTimeout(0),
		"pub":        WithPublishTimeout(-1),
		"drain":      WithDrainTimeout(0),
		"ring":       WithRingSize(1000, 1<<20),
		"ring small": WithRingSize(1<<20, 512),
		"wait":       WithReconnectWait(0),
		"max":        WithMaxReconnects(-2),
		"name":       WithName(string(make([]byte, 256))),
		"group":      WithGroup(-1),
		"nil":        nil,
	} {
		if _, err := Connect(o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	for name, o := range map[string]SubOption{
		"policy":  WithPolicy(Policy(7)),
		"block":   WithBlock(0),
		"pending": WithPendingLimit(0),
		"nil":     nil,
	} {
		if _, err := applySubOptions([]SubOption{o}); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
	so, err := applySubOptions([]SubOption{WithBlock(time.Second)})
	if err != nil || so.policy != Block || so.blockTimeout != time.Second {
		t.Fatalf("WithBlock: %+v %v", so, err)
	}
}

func TestWithGroupSharesTheSegment(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir, WithGroup(os.Getgid()))
	fi, err := os.Stat(filepath.Join(dir, c.Segment()))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Fatalf("segment mode %v, want 0660", fi.Mode().Perm())
	}
	if fi, _ := os.Stat(filepath.Join(dir, connect(t, dir).Segment())); fi.Mode().Perm() != 0o600 {
		t.Fatalf("default segment mode %v, want 0600", fi.Mode().Perm())
	}
}
