package bus

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSubscribeSyncAndNextMsg(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	s, err := c.SubscribeSync("a.b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextMsg(time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("empty NextMsg: %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.NextMsgWithContext(ctx); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty NextMsgWithContext: %v", err)
	}
	for i := range 3 {
		c.Publish("a.b", []byte{byte(i)})
	}
	for i := range 3 {
		m, err := s.NextMsg(waitLimit)
		if err != nil || m.Data[0] != byte(i) || m.Topic != "a.b" || m.Sub != s {
			t.Fatalf("message %d: %+v, %v", i, m, err)
		}
	}
	if s.Delivered() != 3 || s.Pending() != 0 {
		t.Fatalf("delivered %d pending %d", s.Delivered(), s.Pending())
	}
	if _, err := c.Subscribe("a.b", func(*Msg) {}); err != nil {
		t.Fatal(err)
	}
	async, _ := c.Subscribe("x", func(*Msg) {})
	if _, err := async.NextMsg(time.Millisecond); !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("NextMsg on an async subscription: %v", err)
	}
}

func TestSyncSubscriptionLocalSlowConsumer(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	var errs errLog
	c := connect(t, dir, WithErrorHandler(errs.handler))
	s, err := c.SubscribeSync("a", WithPendingLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		c.Publish("a", nil)
	}
	c.Flush()
	waitFor(t, "drops", func() bool { return s.Dropped() == 3 })
	if _, err := s.NextMsg(time.Second); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("first NextMsg after drops: %v, want ErrSlowConsumer", err)
	}
	for range 2 {
		if _, err := s.NextMsg(waitLimit); err != nil {
			t.Fatal(err)
		}
	}
	if st := c.Stats(); st.LocalDropped != 3 {
		t.Fatalf("stats %+v", st)
	}
	waitFor(t, "error handler", func() bool { return len(errs.all()) > 0 })
	if err := errs.all()[0]; !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("error handler got %v", err)
	}
}

func TestUnsubscribe(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	var gone, kept collector
	s, _ := c.Subscribe("u", gone.handler)
	k, _ := c.Subscribe("u", kept.handler)
	c.Publish("u", []byte("1"))
	gone.wait(t, 1)
	if err := s.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if s.IsValid() || !k.IsValid() {
		t.Fatal("validity")
	}
	if err := s.Unsubscribe(); !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	c.Publish("u", []byte("2"))
	kept.wait(t, 2)
	c.Flush()
	if gone.len() != 1 {
		t.Fatalf("unsubscribed handler got %v", gone.data())
	}
}

func TestSubscriptionDrain(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	s, _ := c.SubscribeSync("d")
	for range 3 {
		c.Publish("d", nil)
	}
	if err := s.Drain(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := s.NextMsg(waitLimit); err != nil {
			t.Fatalf("buffered message %d after Drain: %v", i, err)
		}
	}
	if _, err := s.NextMsg(time.Millisecond); !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("after the buffer: %v", err)
	}
}

func TestSubscriptionPolicyReachesRouter(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	s, err := c.Subscribe("p", func(*Msg) {}, WithBlock(3*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c.Flush()
	f.loopMu.Lock()
	defer f.loopMu.Unlock()
	spec := f.cs[0].subs[s.SID()]
	if spec.Policy != uint8(Block) || spec.BlockTimeoutNS != uint64(3*time.Millisecond) || spec.Pattern != "p" {
		t.Fatalf("router has %+v", spec)
	}
}
