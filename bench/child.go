package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Environment variables that turn the binary into a benchmark child.
const (
	EnvChild = "SHMBUS_BENCH_CHILD" // the role to run
	envArgs  = "SHMBUS_BENCH_ARGS"  // childArgs as JSON
	// EnvProfile, when set to a directory, makes every child write a CPU
	// profile there (<role>-<pid>.pprof): where a multi-process figure
	// goes, for `go tool pprof`.
	EnvProfile = "SHMBUS_BENCH_CPUPROFILE"
	// EnvMemProfile, when set to a directory, makes every child write its
	// allocation profile there when it is done (<role>-<pid>.mem.pprof).
	EnvMemProfile = "SHMBUS_BENCH_MEMPROFILE"
)

// childArgs is what a parent tells a child. Unused fields are zero.
type childArgs struct {
	Path     string `json:"path,omitempty"` // shared file (baselines) or segment dir
	Name     string `json:"name,omitempty"` // segment name (ring benchmarks)
	N        int    `json:"n"`              // messages or round trips
	Size     int    `json:"size,omitempty"` // payload bytes
	Capacity int    `json:"capacity,omitempty"`
	Idle     string `json:"idle,omitempty"`     // ipc idle strategy
	Spin     int64  `json:"spin_ns,omitempty"`  // spin-then-park: spin budget
	URL      string `json:"url,omitempty"`      // NATS server URL
	Index    int    `json:"index,omitempty"`    // which of several children of one role
	Count    int    `json:"count,omitempty"`    // role-specific: idle connections to hold (bus-idle), backlog to queue (bus-qsender)
	Topics   int    `json:"topics,omitempty"`   // topicPlan.Topics
	Wild     int    `json:"wild,omitempty"`     // topicPlan.Wild
	Rate     int    `json:"rate,omitempty"`     // paced sender: msgs/s
	Prefetch int    `json:"prefetch,omitempty"` // queue consumer: its prefetch
	Filter   string `json:"filter,omitempty"`   // queue consumer: its selector
	Unpinned bool   `json:"unpinned,omitempty"` // run where the scheduler puts it
	CPU      int    `json:"cpu"`
	Deadline int64  `json:"deadline"` // wall clock, Unix nanoseconds
}

func (a *childArgs) guard() guard { return guardUntil(time.Unix(0, a.Deadline)) }

// childReport is what a child prints on stdout when it is done.
type childReport struct {
	Count int64  `json:"count"`            // messages or round trips handled
	Waits uint64 `json:"waits,omitempty"`  // futex waits made by the child
	Wakes uint64 `json:"wakes,omitempty"`  // futex wakes made by the child
	CPUNs int64  `json:"cpu_ns,omitempty"` // role-specific: CPU time of the timed part
	Note  string `json:"note,omitempty"`
}

// roles maps a role name to its body; each file registers its own roles.
var roles = map[string]func(*childArgs) (*childReport, error){}

// MaybeRunChild runs the benchmark child role named by $SHMBUS_BENCH_CHILD
// and exits; it returns at once when the variable is unset. Call it first
// thing in main, and in TestMain of packages whose tests use this package.
func MaybeRunChild() {
	role := os.Getenv(EnvChild)
	if role == "" {
		return
	}
	os.Exit(runChild(role))
}

func runChild(role string) int {
	run, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "bench child: unknown role %q\n", role)
		return 2
	}
	var a childArgs
	if err := json.Unmarshal([]byte(os.Getenv(envArgs)), &a); err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: bad args: %v\n", role, err)
		return 2
	}
	if dir := os.Getenv(EnvProfile); dir != "" {
		stop, err := startProfile(filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", role, os.Getpid())))
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench child %s: %v\n", role, err)
			return 2
		}
		defer stop()
	}
	unpin := func() {}
	if !a.Unpinned {
		unpin, _ = Pin(a.CPU)
	}
	rep, err := run(&a)
	unpin()
	if dir := os.Getenv(EnvMemProfile); dir != "" {
		if perr := WriteMemProfile(filepath.Join(dir, fmt.Sprintf("%s-%d.mem.pprof", role, os.Getpid()))); perr != nil {
			fmt.Fprintf(os.Stderr, "bench child %s: %v\n", role, perr)
			return 2
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench child %s: %v\n", role, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 1
	}
	return 0
}

// startProfile starts a CPU profile into path; the func stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// WriteMemProfile writes the allocation profile (every allocation
// sampled since the process started; `go tool pprof -sample_index
// inuse_space` for what is live) to path, after a GC so the in-use
// figures are current.
func WriteMemProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC()
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("bench: memory profile %s: %w", path, err)
	}
	return f.Close()
}

// child is a running child process.
type child struct {
	role     string
	cmd      *exec.Cmd
	out, err bytes.Buffer
	exited   atomic.Bool // set once the process has been reaped
	done     chan struct{}
	waitErr  error
}

// startChild re-executes this binary as role, on the partner CPU (unless
// a.Unpinned). files become the child's descriptors 3, 4, ...
func startChild(role string, a childArgs, files ...*os.File) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	_, a.CPU, _ = CPUs()
	js, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	c := &child{role: role, done: make(chan struct{})}
	c.cmd = exec.Command(exe)
	// Under the race detector a process sleeps 1 s at exit (GORACE's
	// atexit_sleep_ms) unless told otherwise; children need not.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	c.cmd.Env = append(os.Environ(), EnvChild+"="+role, envArgs+"="+string(js), "GORACE="+gorace)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.err
	c.cmd.ExtraFiles = files
	// The child dies with us. Safe because Pin never lets a thread exit.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start child %s: %w", role, err)
	}
	go func() {
		c.waitErr = c.cmd.Wait()
		c.exited.Store(true)
		close(c.done)
	}()
	return c, nil
}

// finish waits up to timeout for the child to exit, kills it (by PID) if
// it does not, and decodes its report.
func (c *child) finish(timeout time.Duration) (*childReport, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-c.done:
	case <-t.C:
		c.kill()
		return nil, fmt.Errorf("bench: child %s overdue, killed: %w", c.role, ErrDeadline)
	}
	if c.waitErr != nil {
		return nil, fmt.Errorf("bench: child %s: %v: %s", c.role, c.waitErr, strings.TrimSpace(c.err.String()))
	}
	var rep childReport
	if err := json.Unmarshal(c.out.Bytes(), &rep); err != nil {
		return nil, fmt.Errorf("bench: child %s report %q: %w", c.role, c.out.String(), err)
	}
	return &rep, nil
}

// kill stops the child by PID and reaps it. Safe to call more than once.
func (c *child) kill() {
	if !c.exited.Load() {
		_ = c.cmd.Process.Kill()
	}
	<-c.done
}

// deadlineFor is the wall-clock deadline handed to a child.
func deadlineFor(d time.Duration) int64 { return time.Now().Add(d).UnixNano() }
