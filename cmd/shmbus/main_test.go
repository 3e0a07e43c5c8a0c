package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shmbus/shmbus/bench"
	"github.com/shmbus/shmbus/router"
)

// The demo and bench tests re-execute the test binary as their children.
func TestMain(m *testing.M) {
	bench.MaybeRunChild()
	MaybeRunDemoChild()
	os.Exit(m.Run())
}

// waitLimit bounds every wait: a generous limit on a loop, not a timing
// assertion.
const waitLimit = 30 * time.Second

// startRouter runs a router on a fresh directory until the test ends.
func startRouter(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r, err := router.New(router.Config{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	if err := r.Start(); err != nil {
		r.Close()
		t.Fatalf("router Start: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return dir
}

// syncBuf is a bytes.Buffer safe for a command writing while the test reads.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// running is a command started in the background.
type running struct {
	out, err syncBuf
	cancel   context.CancelFunc
	done     chan struct{}
	result   error // set before done is closed
}

// start runs cmd with args in the background; the test's end interrupts it
// (as SIGINT would) and waits for it.
func start(t *testing.T, cmd clientCmd, args ...string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.result = cmd(ctx, args, stdio{in: strings.NewReader(""), out: &r.out, err: &r.err})
	}()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// waitOutput waits until the command's standard error holds want (the
// commands say there when they are ready), failing if it ends first.
func (r *running) waitErrOutput(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(r.err.String(), want) {
		select {
		case <-r.done:
			t.Fatalf("command ended (%v) before saying %q; stderr:\n%s", r.result, want, r.err.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %q; stderr:\n%s", want, r.err.String())
		}
		time.Sleep(time.Millisecond)
	}
}

// wait waits for the command to end by itself and returns its result.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.result
	case <-time.After(waitLimit):
		t.Fatalf("command did not end; stdout:\n%s\nstderr:\n%s", r.out.String(), r.err.String())
		return nil
	}
}

// call runs cmd to completion with stdin, returning its outputs.
func call(t *testing.T, cmd clientCmd, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e syncBuf
	err = cmd(context.Background(), args, stdio{in: strings.NewReader(stdin), out: &o, err: &e})
	return o.String(), e.String(), err
}

// captureStdout runs f with os.Stdout redirected, for the commands that
// print there directly (stat). Tests using it must not run in parallel.
func captureStdout(t *testing.T, f func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	saved := os.Stdout
	os.Stdout = w
	ferr := f()
	os.Stdout = saved
	w.Close()
	out := <-read
	r.Close()
	return out, ferr
}
