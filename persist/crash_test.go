package persist

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Crash tests: the test binary re-executes itself as a child that appends
// and prints what it was told is confirmed; the parent kill -9s it at a
// random moment, reopens the journal and checks.

const (
	crashRoleEnv = "PERSIST_CRASH_ROLE" // "sync" or "batch"
	crashDirEnv  = "PERSIST_CRASH_DIR"
	crashBaseEnv = "PERSIST_CRASH_BASE"
	crashPending = 64 << 10 // the child's MaxPending: the Batch loss bound on a process crash
	crashSenders = 4
)

func TestMain(m *testing.M) {
	if role := os.Getenv(crashRoleEnv); role != "" {
		os.Exit(crashChild(role))
	}
	os.Exit(m.Run())
}

// crashChild appends until killed (or 30 s), printing "a ID" once Append
// returned (batch) and "c ID" once confirmed. IDs are base + sender*1e6 + i.
func crashChild(role string) int {
	d := DurabilitySync
	senders := crashSenders
	if role == "batch" {
		d, senders = DurabilityBatch, 1
	}
	l, err := Open(os.Getenv(crashDirEnv), WithDurability(d), WithMaxPending(crashPending), WithSegmentSize(64<<10), WithLogger(quiet))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	base, _ := strconv.ParseUint(os.Getenv(crashBaseEnv), 10, 64)
	var out sync.Mutex
	say := func(kind byte, id uint64) {
		out.Lock()
		os.Stdout.Write(fmt.Appendf(nil, "%c %d\n", kind, id))
		out.Unlock()
	}
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); time.Now().Before(deadline); i++ {
				id := base + uint64(g)*1e6 + i
				p := strconv.AppendUint(nil, id, 10)
				if role == "batch" {
					if _, err := l.AppendNotify(1, p, func(uint64, error) { say('c', id) }); err != nil {
						return
					}
					say('a', id)
					continue
				}
				seq, err := l.Append(1, p)
				if err == nil {
					err = l.WaitConfirmed(context.Background(), seq)
				}
				if err != nil {
					return
				}
				say('c', id)
			}
		}()
	}
	wg.Wait()
	return 0
}

func TestCrashRecovery(t *testing.T) {
	for _, role := range []string{"sync", "batch"} {
		t.Run("policy="+role, func(t *testing.T) { crashRounds(t, role) })
	}
}

func crashRounds(t *testing.T, role string) {
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[uint64]bool{}
	var lastAppended []uint64 // batch: the appends of the last round
	rounds := 4
	for round := 1; round <= rounds; round++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashRoleEnv+"="+role, crashDirEnv+"="+dir,
			crashBaseEnv+"="+strconv.Itoa(round*1e8),
			"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Kill at a random moment after the child got going.
		kill := time.After(time.Duration(20+rand.IntN(80)) * time.Millisecond)
		var appended []uint64
		seen := 0
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				seen++
				kind, idText, _ := strings.Cut(line, " ")
				id, _ := strconv.ParseUint(idText, 10, 64)
				if kind == "c" {
					confirmed[id] = true
				} else {
					appended = append(appended, id)
				}
			case <-kill:
				kill = nil
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		lastAppended = appended
		t.Logf("round %d: %d lines before kill -9", round, seen)

		l, err := Open(dir, WithLogger(quiet))
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		present := map[uint64]int{}
		for _, rec := range readAll(t, l, 0) {
			id, _ := strconv.ParseUint(string(rec.Payload), 10, 64)
			present[id]++
		}
		for id := range confirmed {
			if present[id] != 1 {
				t.Fatalf("round %d: confirmed id %d present %d times", round, id, present[id])
			}
		}
		for id, n := range present {
			if n != 1 {
				t.Fatalf("round %d: id %d present %d times", round, id, n)
			}
		}
		if role == "batch" {
			// A process crash loses only what was still in memory: a
			// suffix of the appends, within the documented bound.
			lost := 0
			for i, id := range lastAppended {
				if present[id] == 0 {
					lost++
				} else if lost > 0 {
					t.Fatalf("round %d: append %d lost but a later one (%d) kept", round, i, id)
				}
			}
			if max := 2 * crashPending / recordSize(10); lost > max {
				t.Fatalf("round %d: %d appends lost, bound %d", round, lost, max)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(confirmed) == 0 {
		t.Fatal("no confirmation in any round")
	}
}
