package bench

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestHist(t *testing.T) {
	h := NewHist()
	for i := int64(1); i <= 1000; i++ {
		h.Record(i * 100)
	}
	h.Record(0)                // clamped up to 1 ns
	h.Record(int64(time.Hour)) // clamped down to 10 s
	s := h.Summary()
	if s.Count != 1002 {
		t.Fatalf("count %d, want 1002", s.Count)
	}
	if s.P50 < 49_000 || s.P50 > 51_000 || s.P99 < 98_000 || s.P99 > 100_100 {
		t.Errorf("percentiles off: %v", s)
	}
	if s.Max < int64(9*time.Second) {
		t.Errorf("max %d: the 1 h sample was dropped, not clamped", s.Max)
	}
	if got := US(62); got != "0.062" {
		t.Errorf("US(62) = %q", got)
	}
	if got := US(45_100); got != "45.1" {
		t.Errorf("US(45100) = %q", got)
	}
	if !strings.Contains(s.String(), "p99.9=") {
		t.Errorf("summary line %q", s.String())
	}
	if a := testing.AllocsPerRun(1000, func() { h.Record(1234) }); a != 0 {
		t.Errorf("Record allocates %.1f times", a)
	}
}

func TestSelected(t *testing.T) {
	for _, c := range []struct {
		name string
		only []string
		want bool
	}{
		{"ring.tput/64", nil, true},
		{"ring.tput/64", []string{"ring"}, true},
		{"ring.tput/64", []string{"ring.tput"}, true},
		{"ring.tput/64", []string{"ring.tput/64"}, true},
		{"ring.tput/64", []string{"ring.tp"}, false},
		{"ring.tput/64", []string{"uds", "probe"}, false},
		{"probe.proc", []string{"probe"}, true},
	} {
		if got := Selected(c.name, c.only); got != c.want {
			t.Errorf("Selected(%q, %q) = %v", c.name, c.only, got)
		}
	}
}

// TestRun runs the whole quick suite with tiny counts and checks every
// result is sane, and the table, ratios, plot and markdown are filled in.
// Timing is never asserted. The entries of 64 KiB and larger payloads
// run with a smaller count, in a run of their own (their references are
// among them); the full-only entries, the 64-subscriber fan-outs, run in
// TestFanOut64.
func TestRun(t *testing.T) {
	var seen, started []string
	var small, big []string
	for _, e := range Plan(Options{Quick: true}) {
		if e.Params.Size >= 64<<10 {
			big = append(big, e.Name)
		} else {
			small = append(small, e.Name)
		}
	}
	count := map[string]int64{}
	var plan []Planned
	var rs []*Result
	for _, part := range []struct {
		only []string
		n    int
	}{{small, 300}, {big, 20}} {
		o := Options{Quick: true, N: part.n, Only: part.only, ProbeN: 200, Dir: t.TempDir(),
			OnStart:  func(i, total int, name string) { started = append(started, name) },
			Progress: func(r *Result) { seen = append(seen, r.Name) }}
		plan = append(plan, Plan(o)...)
		for _, r := range Run(o) {
			rs = append(rs, r)
			count[r.Name] = int64(part.n)
		}
	}
	if len(rs) != len(plan) || len(seen) != len(rs) || len(started) != len(rs) || len(big) == 0 {
		t.Fatalf("%d results, %d progress calls, %d start calls, plan has %d (%d big)", len(rs), len(seen), len(started), len(plan), len(big))
	}
	if full := len(Suite()); len(plan) >= full {
		t.Errorf("quick plan has %d of %d entries: the full-only ones are in", len(plan), full)
	}
	for _, r := range rs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Name, r.Err)
			continue
		}
		if r.ProbeBefore == nil || r.ProbeAfter == nil || r.Placement == "" {
			t.Errorf("%s: no probe bracket", r.Name)
		}
		n := count[r.Name] // pub/sub: n to (from) each subscriber (publisher)
		if r.Lat != nil && (r.Lat.Count != n || len(r.Dist) == 0) || r.Lat == nil && (r.Msgs == 0 || r.Msgs%n != 0) {
			t.Errorf("%s: wrong count (want %d): %+v", r.Name, n, r)
		}
		if len(r.Ratios) != len(r.Refs) {
			t.Errorf("%s: %d ratios for %d refs", r.Name, len(r.Ratios), len(r.Refs))
		}
		for i, x := range r.Ratios {
			if x <= 0 {
				t.Errorf("%s: no ratio to %s", r.Name, r.Refs[i])
			}
		}
		if strings.HasPrefix(r.Name, "bus.") && r.Lat == nil && r.RouterNsPerMsg <= 0 {
			t.Errorf("%s: router CPU time not measured", r.Name)
		}
		if want := strings.Contains(r.Name, ".oneway") || strings.HasPrefix(r.Name, "bus.queue.prio/"); (r.Rate > 0) != want {
			t.Errorf("%s: rate %d", r.Name, r.Rate)
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	for _, e := range plan {
		if !strings.Contains(b.String(), e.Name) {
			t.Errorf("table lacks %s:\n%s", e.Name, b.String())
		}
	}
	t.Logf("\n%s", b.String())

	// Every result lands in the plot (latency as a curve, throughput as a
	// bar) but odd ones out, and in the markdown.
	var svg bytes.Buffer
	if err := WritePlot(&svg, rs, "TestRun"); err != nil {
		t.Fatal(err)
	}
	plotted := append(svgSeries(t, svg.Bytes(), "series"), svgSeries(t, svg.Bytes(), "bar")...)
	for _, r := range rs {
		if !slices.Contains(plotted, r.Name) && !slices.Contains(ungrouped(rs), r) {
			t.Errorf("%s: not plotted", r.Name)
		}
	}
	if odd := ungrouped(rs); len(odd) > 0 {
		t.Errorf("results in no group of the plot: %v", odd[0].Name)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !strings.Contains(md.String(), "`"+r.Name+"`") {
			t.Errorf("markdown lacks %s", r.Name)
		}
	}
}

// TestRunPaced runs the paced entries at a fixed rate: every latency
// carries the rate, and a paced count is cut to the rate's time.
func TestRunPaced(t *testing.T) {
	o := Options{Quick: true, Rate: 2000, PacedFor: 100 * time.Millisecond, ProbeN: 100,
		Only: []string{"uds.pingpong", "tcp.pingpong", "nats.oneway", "bus.reqrep/3proc/yield", "bus.oneway/yield"}}
	for _, e := range Plan(o) {
		if !e.Paced || e.Params.Rate != 2000 || e.Params.N != 200 {
			t.Errorf("%s: planned %+v, want paced at 2000 for 200", e.Name, e.Params)
		}
	}
	rs := Run(o)
	if len(rs) != 5 {
		t.Fatalf("%d results", len(rs))
	}
	for _, r := range rs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Name, r.Err)
			continue
		}
		if r.Lat == nil || r.Lat.Count != 200 || r.Rate != 2000 {
			t.Errorf("%s: %+v, want 200 samples at 2000 msgs/s", r.Name, r)
		}
	}
	if p := Plan(Options{Quick: true, Only: []string{"probe", "ring.pingpong/spin"}, Rate: 50}); p[0].Params.Rate != 0 || p[1].Params.Rate != 0 {
		t.Errorf("unpaced entries got a rate: %+v", p)
	}
}

func TestRunOnlyAndFailure(t *testing.T) {
	rs := Run(Options{N: 100, ProbeN: 100, Only: []string{"chan.tput/64"}})
	if len(rs) != 1 || rs[0].Name != "chan.tput/64" || rs[0].Err != "" {
		t.Fatalf("-only chan.tput/64 gave %+v", rs)
	}
	var b strings.Builder
	_ = WriteTable(&b, []*Result{{Name: "x", Err: "boom"}})
	if !strings.Contains(b.String(), "FAILED x: boom") {
		t.Errorf("failure not shown: %q", b.String())
	}
}

// allocsPerOp estimates heap allocations per message of run by running it
// at two sizes: set-up costs cancel, what remains grows with the count.
func allocsPerOp(t *testing.T, run func(Params) (*Result, error), p Params, n1, n2 int) float64 {
	t.Helper()
	count := func(n int) uint64 {
		p.N = n
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if _, err := run(p); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.Mallocs - m0.Mallocs
	}
	a, b := count(n1), count(n2)
	if b < a {
		return 0
	}
	return float64(b-a) / float64(n2-n1)
}

func TestHotLoopsDoNotAllocate(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		run  func(Params) (*Result, error)
		p    Params
	}{
		{"probe", Probe, Params{}},
		{"chan", ChanThroughput, Params{Size: 64}},
		{"futex.spinpark", FutexSpinPark, Params{Dir: dir}},
		{"uds.tput", UDSThroughput, Params{Size: 64}},
		{"ring.pingpong", RingPingPong, Params{Dir: dir}},
		{"ring.tput", RingThroughput, Params{Dir: dir, Size: 64}},
	} {
		// Allow a little slack for the runtime's own allocations: a
		// per-message allocation shows as >= 1. Counts stay small because a
		// spinning ping-pong crawls when another process shares a CPU.
		n1, n2 := 2000, 12000
		if testing.Short() {
			n1, n2 = 500, 3000
		}
		if a := allocsPerOp(t, c.run, c.p, n1, n2); a > 0.05 {
			t.Errorf("%s: %.3f allocations per message", c.name, a)
		}
	}
}

func TestChildKilledWhenOverdue(t *testing.T) {
	// A probe responder with nobody to answer it spins until its deadline;
	// finish gives up first and kills it by PID.
	path, mem, err := newShared(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	c, err := startChild("probe", childArgs{Path: path, N: 10, Deadline: deadlineFor(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.finish(50 * time.Millisecond); !errors.Is(err, ErrDeadline) {
		t.Fatalf("finish = %v, want ErrDeadline", err)
	}
	if !c.exited.Load() {
		t.Fatal("child still running after kill")
	}
	// Its own deadline also bounds it.
	c, err = startChild("probe", childArgs{Path: path, N: 10, Deadline: deadlineFor(50 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.finish(10 * time.Second); err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("finish = %v, want the child's deadline error", err)
	}
}

func TestUnknownRole(t *testing.T) {
	if rc := runChild("no-such-role"); rc != 2 {
		t.Errorf("unknown role exit code %d, want 2", rc)
	}
}
