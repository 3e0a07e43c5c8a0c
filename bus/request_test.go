package bus

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"
)

func TestRequestReply(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	svc, cli := connect(t, dir), connect(t, dir)
	svc.Subscribe("echo", func(m *Msg) {
		if err := m.Respond(append([]byte("re: "), m.Data...)); err != nil {
			t.Error(err)
		}
	})
	svc.Flush()
	for i := range 20 {
		r, err := cli.Request("echo", []byte(strconv.Itoa(i)), waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Data) != "re: "+strconv.Itoa(i) {
			t.Fatalf("reply %q", r.Data)
		}
	}
	// On one Conn too: the handler answers on the dispatcher, the request
	// waits on this goroutine.
	r, err := svc.RequestWithContext(context.Background(), "echo", []byte("self"))
	if err != nil || string(r.Data) != "re: self" {
		t.Fatalf("self request: %v, %v", r, err)
	}
	r, err = cli.RequestMsg(&Msg{Topic: "echo", Data: []byte("m")}, waitLimit)
	if err != nil || string(r.Data) != "re: m" {
		t.Fatalf("RequestMsg: %v, %v", r, err)
	}
	if err := (&Msg{Topic: "x"}).Respond(nil); !errors.Is(err, ErrNoReply) {
		t.Fatalf("Respond without reply: %v", err)
	}
}

func TestNoResponders(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	if _, err := c.Request("nobody.home", nil, waitLimit); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("got %v, want ErrNoResponders", err)
	}
}

func TestRequestTimeout(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	c.Subscribe("silent", func(*Msg) {})
	if _, err := c.Request("silent", nil, 10*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.RequestWithContext(ctx, "silent", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}

func TestFlush(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	for range 100 {
		c.Publish("nowhere", []byte("x"))
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	f.pause()
	if err := c.FlushTimeout(10 * time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("flush with a stalled router: %v, want ErrTimeout", err)
	}
	f.resume()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := c.FlushTimeout(0); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("FlushTimeout(0): %v", err)
	}
}
