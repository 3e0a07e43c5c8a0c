package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shmbus/shmbus/bus"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router"
)

func init() {
	register(&command{
		name:    "demo",
		summary: "the bus at work: two processes publish, subscribe and request through it; latency percentiles",
		run:     interruptible(runDemo),
	})
}

const demoDoc = `Runs a router in this process (or uses the one already running in -dir),
then two clients as child processes: a publisher that sends -n messages of
-size bytes at -rate messages per second, then makes request/reply round
trips one after the other; and a subscriber that receives the messages and
answers the requests. It shows the flow as it goes, then the percentiles
of the one-way latency (from the CLOCK_MONOTONIC stamp Publish writes in
the publisher to the subscriber's handler, through the router) and of the
round trips. Children are stopped by PID on interrupt, their segments
removed; a directory the demo created is removed.`

// Bounds of -size: room for the sequence number, and well under what the
// default 1 MiB rings take in one record.
const (
	demoMinSize = 16
	demoMaxSize = 64 << 10
	demoMaxN    = 1_000_000_000
)

func runDemo(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("demo", "", demoDoc, sio)
	n := fs.Int("n", 100000, "messages to publish")
	size := fs.Int("size", 128, fmt.Sprintf("payload bytes per message (%d to %d)", demoMinSize, demoMaxSize))
	rate := fs.Float64("rate", 10000, "messages per second (0: as fast as the bus takes them)")
	var reqs optInt
	fs.Var(&reqs, "requests", "`count` of request/reply round trips after the messages (default n/10, at most 10000)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return badUsage(fs, "unexpected arguments %q", fs.Args())
	case *n < 1 || *n > demoMaxN:
		return badUsage(fs, "-n %d: want 1 to %d", *n, demoMaxN)
	case *size < demoMinSize || *size > demoMaxSize:
		return badUsage(fs, "-size %d: want %d to %d", *size, demoMinSize, demoMaxSize)
	case *rate != 0 && !(*rate >= 1 && *rate <= 1e9):
		return badUsage(fs, "-rate %v: want 0 (unpaced) or 1 to 1e9 messages per second", *rate)
	case reqs.v < 0:
		return badUsage(fs, "-requests %d: want 0 or more", reqs.v)
	}
	if !reqs.set {
		reqs.v = min(max(*n/10, 1), 10000)
	}
	d := &demo{sio: sio, dir: *dir, began: time.Now()}
	defer func() { d.cleanup() }()

	// How long it should take, to bound every wait.
	stream := time.Duration(*n) * 2 * time.Microsecond
	if *rate > 0 {
		stream = time.Duration(float64(*n) / *rate * float64(time.Second))
	}
	budget := stream*2 + time.Duration(reqs.v)*time.Millisecond + 30*time.Second
	a := &demoArgs{
		Dir: *dir, Prefix: fmt.Sprintf("demo.%d", os.Getpid()),
		N: *n, Size: *size, Rate: *rate, Requests: reqs.v,
		Progress: int64(min(max(stream/5, time.Second), 5*time.Second)),
		Deadline: d.began.Add(budget).UnixNano(),
	}
	if err := d.startRouter(); err != nil {
		return err
	}
	return d.run(ctx, a, budget+5*time.Second)
}

// optInt is an int flag whose default depends on other flags: set says
// whether it was given.
type optInt struct {
	v   int
	set bool
}

func (o *optInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.v)
}

func (o *optInt) Set(s string) error {
	v, err := strconv.Atoi(s)
	if err != nil {
		return errors.New("not an integer")
	}
	o.v, o.set = v, true
	return nil
}

// demo is one run's state, for cleanup.
type demo struct {
	sio        stdio
	dir        string
	began      time.Time
	createdDir bool
	r          *router.Router // nil when another process's router is used
	nc         *bus.Conn
	children   []*demoChild
}

// startRouter runs a router on d.dir in this process, or finds that one
// already runs there (then the demo is its client like any other).
func (d *demo) startRouter() error {
	_, err := os.Stat(d.dir)
	d.createdDir = errors.Is(err, os.ErrNotExist)
	log := slog.New(slog.NewTextHandler(d.sio.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := router.New(router.Config{Dir: d.dir, Logger: log})
	switch {
	case errors.Is(err, router.ErrRouterRunning):
		d.createdDir = false
		fmt.Fprintf(d.sio.out, "shmbus demo: a router already runs in %s; using it\n", d.dir)
		return nil
	case err != nil:
		return fmt.Errorf("cannot run a router in %s: %w", d.dir, err)
	}
	d.r = r
	if err := r.Start(); err != nil {
		return fmt.Errorf("cannot run a router in %s: %w", d.dir, err)
	}
	fmt.Fprintf(d.sio.out, "shmbus demo: router running in this process (pid %d) on %s\n", os.Getpid(), d.dir)
	return nil
}

// hostLine describes what the figures were taken on: other work on the
// host skews them, and a 2-CPU host has fewer CPUs than busy processes.
func hostLine() string {
	load := "?"
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = strings.Join(f[:3], " ")
		}
	}
	return fmt.Sprintf("host: %d CPUs, load average %s, %s", runtime.NumCPU(), load, runtime.Version())
}

func (d *demo) run(ctx context.Context, a *demoArgs, budget time.Duration) error {
	var err error
	if d.nc, err = connect(d.dir, "shmbus demo"); err != nil {
		return err
	}
	ready, progress := make(chan *bus.Msg, 4), make(chan *bus.Msg, 64)
	if _, err := d.nc.ChanSubscribe(a.topic("ready"), ready); err != nil {
		return err
	}
	if _, err := d.nc.ChanSubscribe(a.topic("progress"), progress); err != nil {
		return err
	}
	if err := d.nc.Flush(); err != nil {
		return err
	}
	overdue := time.NewTimer(budget)
	defer overdue.Stop()

	sub, err := d.start("subscriber", a)
	if err != nil {
		return err
	}
	select {
	case <-ready:
	case <-sub.done:
		return sub.failure()
	case <-ctx.Done():
		return errors.New("interrupted")
	case <-overdue.C:
		return errors.New("the subscriber did not get ready in time")
	}
	fmt.Fprintf(d.sio.out, "subscriber: pid %d, receives %s, answers %s\n", sub.pid(), a.topic("ticks"), a.topic("echo"))
	pub, err := d.start("publisher", a)
	if err != nil {
		return err
	}
	pace := "as fast as it goes"
	if a.Rate > 0 {
		pace = fmt.Sprintf("at %.0f/s", a.Rate)
	}
	fmt.Fprintf(d.sio.out, "publisher:  pid %d, %d messages of %d B %s, then %d requests\n", pub.pid(), a.N, a.Size, pace, a.Requests)
	dirFlag := ""
	if d.dir != ipc.DefaultDir {
		dirFlag = " -dir " + d.dir
	}
	fmt.Fprintf(d.sio.out, "(from another terminal meanwhile: shmbus stat%s, or shmbus sub%s -n 3 %s)\n\n", dirFlag, dirFlag, a.topic("ticks"))

	start, last, lastCount := time.Now(), time.Now(), int64(0)
	pubDone, subDone := pub.done, sub.done
	for pubDone != nil || subDone != nil {
		select {
		case m := <-progress:
			var p demoProgress
			if json.Unmarshal(m.Data, &p) != nil {
				continue
			}
			now := time.Now()
			rate := float64(p.Received-lastCount) / now.Sub(last).Seconds()
			last, lastCount = now, p.Received
			line := fmt.Sprintf("%6.1fs %9d msgs %8.0f msgs/s", now.Sub(start).Seconds(), p.Received, rate)
			if p.Answered > 0 {
				line += fmt.Sprintf("   %d requests answered", p.Answered)
			} else if p.Topic != "" {
				line += fmt.Sprintf("   sample: %s %q… (%d B, %s after publish)", p.Topic, p.Text, p.Size, dur(time.Duration(p.LatencyNS)))
			}
			fmt.Fprintln(d.sio.out, line)
		case <-pubDone:
			pubDone = nil
			if pub.waitErr != nil {
				return pub.failure()
			}
		case <-subDone:
			subDone = nil
			if sub.waitErr != nil {
				return sub.failure()
			}
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-overdue.C:
			return fmt.Errorf("overdue after %v", budget)
		}
	}
	var pr, sr demoReport
	if err := pub.report(&pr); err != nil {
		return err
	}
	if err := sub.report(&sr); err != nil {
		return err
	}
	elapsed := time.Duration(pr.ElapsedNS)
	fmt.Fprintf(d.sio.out, "\npublished %d in %s (%.0f msgs/s); received %d, %d dropped, %d out of sequence; %d requests answered\n",
		pr.Count, dur(elapsed), float64(pr.Count)/elapsed.Seconds(), sr.Count, sr.Dropped, sr.Gaps, sr.Answered)
	if behind := time.Duration(pr.BehindNS); a.Rate > 0 && behind > 5*time.Millisecond {
		fmt.Fprintf(d.sio.out, "note: the publisher fell up to %s behind its schedule (it did not run, or Publish waited for room);\n"+
			"      one-way latency starts at the actual publish, so that delay is not in it\n", dur(behind))
	}
	if pr.ReqErrors > 0 {
		fmt.Fprintf(d.sio.out, "note: %d requests got no answer within 1s\n", pr.ReqErrors)
	}
	fmt.Fprintf(d.sio.out, "%s\n\n", hostLine())
	writeLatTable(d.sio.out, []latRow{
		{"one-way publish -> deliver", sr.Latency},
		{"request/reply round trip", pr.Latency},
	})
	if sr.Count != pr.Count || sr.Gaps != 0 {
		return fmt.Errorf("the subscriber received %d of %d messages (%d out of sequence)", sr.Count, pr.Count, sr.Gaps)
	}
	return nil
}

// cleanup stops what is left, in order: children (by PID), our
// connection, the router if it is ours, then the directory if we made it.
func (d *demo) cleanup() {
	removed, stopped := 0, 0
	for _, c := range d.children {
		if c.stop() {
			stopped++
		}
		removed += removeSegmentsOf(d.dir, c.pid())
	}
	if d.nc != nil {
		d.nc.Close()
	}
	var did []string
	switch {
	case stopped > 0:
		did = append(did, fmt.Sprintf("%d child(ren) stopped by PID", stopped))
	case len(d.children) > 0:
		did = append(did, "children exited")
	}
	if removed > 0 {
		did = append(did, fmt.Sprintf("%d segment(s) of dead children removed", removed))
	}
	if d.r != nil {
		d.r.Close()
		did = append(did, "router stopped")
		if d.createdDir {
			for _, name := range []string{wire.RouterName, wire.CounterName, wire.LockName, wire.SocketName, router.IDsName} {
				os.Remove(filepath.Join(d.dir, name))
			}
			if os.Remove(d.dir) == nil {
				did = append(did, d.dir+" removed")
			} else {
				did = append(did, d.dir+" left (not empty)")
			}
		}
	}
	if len(did) > 0 {
		fmt.Fprintf(d.sio.out, "\ndone in %.1fs; %s\n", time.Since(d.began).Seconds(), strings.Join(did, ", "))
	}
}

// removeSegmentsOf removes the connection segments a stopped child left in
// dir (a child killed before it could close its connection), which are
// named after its PID. It returns how many it removed.
func removeSegmentsOf(dir string, pid int) int {
	if pid <= 0 {
		return 0
	}
	names, _ := ipc.List(dir)
	prefix := fmt.Sprintf("c-%d-", pid)
	n := 0
	for _, name := range names {
		if strings.HasPrefix(name, prefix) && ipc.Remove(dir, name) == nil {
			n++
		}
	}
	return n
}

// demoChild is a running child process of the demo.
type demoChild struct {
	role     string
	cmd      *exec.Cmd
	out, err bytes.Buffer // read once done is closed
	done     chan struct{}
	waitErr  error // set before done is closed
}

// start re-executes this binary as role and remembers the child for
// cleanup.
func (d *demo) start(role string, a *demoArgs) (*demoChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	c := &demoChild{role: role, done: make(chan struct{})}
	c.cmd = exec.Command(exe)
	// Under the race detector a process sleeps 1 s at exit unless told not to.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	c.cmd.Env = append(os.Environ(), envDemoRole+"="+role, envDemoArgs+"="+string(js), "GORACE="+gorace)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.err
	// Its own process group: a Ctrl-C at the terminal reaches the demo
	// only, which then stops the child by PID. And it dies with the demo.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s: %w", role, err)
	}
	d.children = append(d.children, c)
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *demoChild) pid() int {
	if c.cmd.Process == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

// stop ends the child if it still runs: SIGTERM (it closes its connection
// and exits), then SIGKILL after a grace period; always by its PID. It
// reports whether the child had to be stopped.
func (c *demoChild) stop() bool {
	select {
	case <-c.done:
		return false
	default:
	}
	c.cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(3 * time.Second)
	defer grace.Stop()
	select {
	case <-c.done:
	case <-grace.C:
		c.cmd.Process.Kill()
		<-c.done
	}
	return true
}

// failure describes how the child failed. Call once done is closed.
func (c *demoChild) failure() error {
	err := fmt.Errorf("the %s (pid %d) failed: %v", c.role, c.pid(), c.waitErr)
	if msg := strings.TrimSpace(c.err.String()); msg != "" {
		err = fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// report decodes the child's report. Call once done is closed.
func (c *demoChild) report(rep *demoReport) error {
	if c.waitErr != nil {
		return c.failure()
	}
	if err := json.Unmarshal(c.out.Bytes(), rep); err != nil {
		return fmt.Errorf("the %s's report %q: %w", c.role, c.out.String(), err)
	}
	return nil
}
