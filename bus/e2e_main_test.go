package bus

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The end-to-end tests (e2e_*_test.go) run shmbus as it is deployed: a
// router PROCESS and client PROCESSES on one bus directory. Every process is
// this test binary re-executed: TestMain sees e2eRoleEnv and plays that role
// (e2e_roles_test.go) instead of running the tests. The parent starts,
// signals and kills children by PID (os.Process, which holds a pidfd, so a
// recycled PID is never hit), talks to them in lines (commands on stdin,
// reports on stdout) and checks what they report.
//
// A child gives up on its own at its deadline, and exits when its stdin
// closes (the parent finished or died), so none outlives its test.

const (
	e2eRoleEnv = "SHMBUS_E2E_ROLE"
	e2eArgsEnv = "SHMBUS_E2E_ARGS"
	// e2eChildTimeout is how long a child lives at most.
	e2eChildTimeout = 90 * time.Second
)

func TestMain(m *testing.M) {
	if role := os.Getenv(e2eRoleEnv); role != "" {
		os.Exit(e2eRunChild(role))
	}
	os.Exit(m.Run())
}

// e2eScale picks a test size: normal, or short under -short; under -race
// (about ten times slower, 2 vCPUs shared by up to ten processes) a quarter
// of normal, but never below short.
func e2eScale(normal, short int) int {
	switch {
	case testing.Short():
		return short
	case raceEnabled:
		return max(short, normal/4)
	}
	return normal
}

// e2eProc is a running child as the parent sees it.
type e2eProc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	pid   int
	stdin *os.File

	mu     sync.Mutex
	lines  []string
	cursor map[string]int // per prefix: lines before this index are consumed
	notify chan struct{}  // pinged on each new line and at exit
	stderr bytes.Buffer   // guarded by mu

	done chan struct{} // closed once the child is reaped
	err  error         // cmd.Wait's result, valid once done is closed
}

// e2eStart starts the test binary as a child playing role with args.
func e2eStart(t *testing.T, name, role string, args any) *e2eProc {
	t.Helper()
	js, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), e2eRoleEnv+"="+role, e2eArgsEnv+"="+string(js),
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	p := &e2eProc{t: t, name: name, cmd: cmd, cursor: map[string]int{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = stdinR
	cmd.Stderr = (*e2eStderr)(p)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	stdinR.Close()
	p.stdin, p.pid = stdinW, cmd.Process.Pid
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			p.ping()
		}
	}()
	go func() {
		<-lines // Wait closes stdout: read it all first
		p.err = cmd.Wait()
		close(p.done)
		p.ping()
	}()
	t.Cleanup(func() {
		p.kill()
		p.stdin.Close()
		if t.Failed() {
			p.mu.Lock()
			errOut := p.stderr.String()
			p.mu.Unlock()
			if len(errOut) > 8<<10 {
				errOut = "..." + errOut[len(errOut)-8<<10:]
			}
			t.Logf("%s (pid %d, %v) stderr:\n%s", p.name, p.pid, p.err, errOut)
		}
	})
	return p
}

type e2eStderr e2eProc

func (w *e2eStderr) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stderr.Len() < 1<<20 {
		w.stderr.Write(b)
	}
	return len(b), nil
}

func (p *e2eProc) ping() {
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *e2eProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// expect returns the first line starting with prefix that it has not yet
// returned for that prefix (other prefixes' lines are left alone), without
// the prefix, waiting for it up to waitLimit. It fails the test if the child exits first.
func (p *e2eProc) expect(prefix string) string {
	p.t.Helper()
	line, ok := p.await(prefix, waitLimit)
	if !ok {
		p.t.Fatalf("%s: no %q line within %v (exited: %v, %v)", p.name, prefix, waitLimit, p.exited(), p.err)
	}
	return line
}

func (p *e2eProc) await(prefix string, limit time.Duration) (string, bool) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		for i := p.cursor[prefix]; i < len(p.lines); i++ {
			if strings.HasPrefix(p.lines[i], prefix) {
				p.cursor[prefix] = i + 1
				line := p.lines[i]
				p.mu.Unlock()
				return strings.TrimSpace(strings.TrimPrefix(line, prefix)), true
			}
		}
		p.cursor[prefix] = len(p.lines)
		p.mu.Unlock()
		if p.exited() {
			// One last look: the final lines may have come with the exit.
			p.mu.Lock()
			n := len(p.lines)
			p.mu.Unlock()
			if n == p.cursor[prefix] {
				return "", false
			}
			continue
		}
		select {
		case <-p.notify:
		case <-deadline.C:
			return "", false
		}
	}
}

// progressAtLeast waits until the child reported "progress N" with N >= n.
func (p *e2eProc) progressAtLeast(n int) {
	p.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		line, ok := p.await("progress ", time.Until(deadline))
		if !ok {
			break
		}
		if v, _ := strconv.Atoi(line); v >= n {
			return
		}
	}
	p.t.Fatalf("%s: no progress to %d within %v (exited: %v)", p.name, n, waitLimit, p.exited())
}

// send writes one command line to the child's stdin.
func (p *e2eProc) send(cmd string) {
	p.t.Helper()
	if _, err := fmt.Fprintln(p.stdin, cmd); err != nil {
		p.t.Fatalf("%s: command %q: %v", p.name, cmd, err)
	}
}

// signal sends sig to the child by PID, unless it has been reaped.
func (p *e2eProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if p.exited() {
		p.t.Fatalf("%s: signal %v: already exited (%v)", p.name, sig, p.err)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: signal %v to pid %d: %v", p.name, sig, p.pid, err)
	}
}

// kill sends SIGKILL by PID (if the child still runs) and reaps it.
func (p *e2eProc) kill() {
	if !p.exited() {
		p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.done
}

// wait waits for the child to exit by itself and fails unless it exited 0.
func (p *e2eProc) wait() {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		p.t.Fatalf("%s: still running after %v", p.name, waitLimit)
	}
	if p.err != nil {
		p.mu.Lock()
		errOut := p.stderr.String()
		p.mu.Unlock()
		p.t.Fatalf("%s (pid %d) exited: %v\n%s", p.name, p.pid, p.err, errOut)
	}
}
