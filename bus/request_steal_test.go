package bus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRequestsReadTheRing: Requests read the out ring themselves while they
// wait (request.go). Many goroutines request at once on one Conn, with each
// idle strategy, while the same Conn's async subscription takes a numbered
// stream: every answer must reach its own caller, and the stream must arrive
// once each, in order, whichever goroutine happened to dispatch it.
func TestRequestsReadTheRing(t *testing.T) {
	workers, each, stream := 8, 200, 2000
	if testing.Short() {
		workers, each, stream = 4, 50, 500
	}
	for _, idle := range []string{"spin", "yield", "backoff", "block"} {
		t.Run("idle="+idle, func(t *testing.T) {
			dir := t.TempDir()
			startFake(t, dir)
			svc := connect(t, dir, WithIdleStrategy(idle))
			cli := connect(t, dir, WithIdleStrategy(idle))
			if _, err := svc.Subscribe("echo", func(m *Msg) {
				if err := m.Respond(m.Data); err != nil {
					t.Error(err)
				}
			}); err != nil {
				t.Fatal(err)
			}
			var next atomic.Uint64
			var got atomic.Int64
			done := make(chan struct{})
			if _, err := cli.Subscribe("stream", func(m *Msg) {
				if v := binary.LittleEndian.Uint64(m.Data); v != next.Load() {
					t.Errorf("stream: got %d, want %d", v, next.Load())
				}
				next.Add(1)
				if got.Add(1) == int64(stream) {
					close(done)
				}
			}); err != nil {
				t.Fatal(err)
			}
			if err := svc.Flush(); err != nil {
				t.Fatal(err)
			}
			if err := cli.Flush(); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // the stream, from the service's Conn
				defer wg.Done()
				b := make([]byte, 8)
				for i := range stream {
					binary.LittleEndian.PutUint64(b, uint64(i))
					if err := svc.Publish("stream", b); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						q := fmt.Sprintf("w%d-%d", w, i)
						r, err := cli.Request("echo", []byte(q), waitLimit)
						if err != nil {
							t.Errorf("%s: %v", q, err)
							return
						}
						if string(r.Data) != q {
							t.Errorf("%s: answered %q", q, r.Data)
							return
						}
					}
				}()
			}
			wg.Wait()
			waitFor(t, "the stream", func() bool {
				select {
				case <-done:
					return true
				default:
					return false
				}
			})
		})
	}
}

// TestCloseWhileRequestsRead: Close while Requests are reading the ring
// (and parked on its doorbell) ends every one of them with
// ErrConnectionClosed or ErrTimeout, never a hang or a touch of the unmapped
// ring.
func TestCloseWhileRequestsRead(t *testing.T) {
	for _, idle := range []string{"spin", "backoff", "block"} {
		t.Run("idle="+idle, func(t *testing.T) {
			dir := t.TempDir()
			startFake(t, dir)
			c := connect(t, dir, WithIdleStrategy(idle))
			if _, err := c.Subscribe("silent", func(*Msg) {}); err != nil {
				t.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			started := make(chan struct{}, 8)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					started <- struct{}{}
					_, err := c.Request("silent", nil, waitLimit)
					if !errors.Is(err, ErrConnectionClosed) && !errors.Is(err, ErrTimeout) {
						t.Errorf("request ended with %v", err)
					}
				}()
			}
			for range 8 {
				<-started
			}
			waitFor(t, "requests reading", func() bool { return c.stealers.Load() > 0 })
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
		})
	}
}
