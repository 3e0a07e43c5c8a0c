package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shmbus/shmbus/router"
)

const oneRule = "[[rule]]\nkind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"1\"\n"

// TestRulesReloadOnSIGHUP: -rules loads the file, SIGHUP reloads it, and a
// file that does not validate leaves the rules in force.
func TestRulesReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(t.TempDir(), "rules.toml")
	if err := os.WriteFile(file, []byte(oneRule), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"-dir", dir, "-rules", file, "-stats-every", "10ms", "-log-level", "error"})
	}()
	waitRules(t, dir, done, 1)

	if err := os.WriteFile(file, []byte(oneRule+oneRule), 0o600); err != nil {
		t.Fatal(err)
	}
	hangUp(t)
	waitRules(t, dir, done, 2)

	if err := os.WriteFile(file, []byte("[[rule]]\nkind = \"nonsense\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hangUp(t)
	// The refused reload must not change the count; give it the time the
	// good reload took, then check.
	time.Sleep(200 * time.Millisecond)
	waitRules(t, dir, done, 2)

	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if rc := <-done; rc != 0 {
		t.Fatalf("shmbusd exited with %d", rc)
	}
	// A bad file at start is an error, not a router without rules.
	if rc := run([]string{"-dir", t.TempDir(), "-rules", file, "-log-level", "error"}); rc == 0 {
		t.Fatal("started with an invalid rules file")
	}
}

func hangUp(t *testing.T) {
	t.Helper()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
}

// waitRules waits until the router's stats show n rules in force.
func waitRules(t *testing.T, dir string, done chan int, n int) {
	t.Helper()
	var last int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case rc := <-done:
			t.Fatalf("shmbusd exited with %d", rc)
		default:
		}
		if s, err := router.ReadStats(dir); err == nil {
			if last = s.Rules; last == n {
				return
			}
		}
	}
	t.Fatalf("rules in force %d, want %d", last, n)
}
