package bench

import (
	"errors"
	"runtime"
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

// TestRun runs the whole suite with tiny counts and checks every result
// is sane and the table and ratios are filled in. Timing is never asserted.
func TestRun(t *testing.T) {
	var seen []string
	rs := Run(Options{N: 300, ProbeN: 200, Dir: t.TempDir(), Progress: func(r *Result) { seen = append(seen, r.Name) }})
	if len(rs) != len(Suite()) || len(seen) != len(rs) {
		t.Fatalf("%d results, %d progress calls, suite has %d", len(rs), len(seen), len(Suite()))
	}
	for _, r := range rs {
		if r.Err != "" {
			t.Errorf("%s: %s", r.Name, r.Err)
			continue
		}
		if r.ProbeBefore == nil || r.ProbeAfter == nil || r.Placement == "" {
			t.Errorf("%s: no probe bracket", r.Name)
		}
		if r.Lat != nil && r.Lat.Count != 300 || r.Lat == nil && (r.Msgs == 0 || r.Msgs%300 != 0) { // pub/sub: 300 to each subscriber
			t.Errorf("%s: wrong count: %+v", r.Name, r)
		}
		if len(r.Ratios) != len(r.Refs) {
			t.Errorf("%s: %d ratios for %d refs", r.Name, len(r.Ratios), len(r.Refs))
		}
		for i, x := range r.Ratios {
			if x <= 0 {
				t.Errorf("%s: no ratio to %s", r.Name, r.Refs[i])
			}
		}
	}
	var b strings.Builder
	if err := WriteTable(&b, rs); err != nil {
		t.Fatal(err)
	}
	for _, e := range Suite() {
		if !strings.Contains(b.String(), e.Name) {
			t.Errorf("table lacks %s:\n%s", e.Name, b.String())
		}
	}
	t.Logf("\n%s", b.String())
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
