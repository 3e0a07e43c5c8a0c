package main

import (
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHTTPServesUntilSignal runs the daemon with -http: /healthz answers
// 200 once the router publishes stats, /metrics has the router, and
// SIGINT stops the HTTP server with the router.
func TestHTTPServesUntilSignal(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String() // free again below; nothing else here listens
	ln.Close()

	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-dir", t.TempDir(), "-http", addr, "-stats-every", "10ms", "-log-level", "error"})
	}()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second) // a bound on the loop, not a timing assertion
	for {
		select {
		case rc := <-done:
			t.Fatalf("shmbusd exited with %d before serving", rc)
		default:
		}
		if code, _ := get(base + "/healthz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/healthz never answered 200")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := get(base + "/metrics"); code != http.StatusOK || !strings.Contains(body, "shmbus_router_up 1") {
		t.Errorf("/metrics: %d\n%s", code, body)
	}

	// run has installed its signal handler (it serves only after), so the
	// signal goes to it, not to the test binary's default action.
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case rc := <-done:
		if rc != 0 {
			t.Errorf("shmbusd exited with %d, want 0", rc)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shmbusd did not stop on SIGINT")
	}
	if code, _ := get(base + "/healthz"); code != 0 {
		t.Errorf("/healthz still answers %d after shutdown", code)
	}
}

// get returns the status and body of url; status 0 when nothing answers.
func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
