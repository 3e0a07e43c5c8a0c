package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/bench"
)

func init() {
	register(&command{
		name:    "bench",
		summary: "measure shmbus rings and the router against the cache line, channels, futexes, Unix sockets and NATS",
		run:     runBench,
	})
}

const benchDoc = `Runs the benchmark suite and prints a table: latency percentiles of round
trips (closed loop, every round trip recorded), or one-way throughput;
each row is compared with references measured in the same run, and
bracketed by a cache-line probe taken just before and after ("near" when
its p50 is under 150 ns, "far" when the two CPUs were placed far apart).
The router and bus rows (bus.*) are compared with a nats-server and
nats.go clients run on loopback in the same way (nats.*).`

// benchReport is the -json output.
type benchReport struct {
	Host    hostInfo        `json:"host"`
	Quick   bool            `json:"quick"`
	Started time.Time       `json:"started"`
	Results []*bench.Result `json:"results"`
}

type hostInfo struct {
	CPUs       int    `json:"cpus"`
	Pinned     string `json:"pinned"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	Kernel     string `json:"kernel"`
	LoadAvg    string `json:"loadavg"` // /proc/loadavg at start: other work skews figures
}

func runBench(args []string) error {
	fs := newFlagSet("bench", "", benchDoc)
	quick := fs.Bool("quick", false, "small counts: the whole suite in well under 30 s")
	asJSON := fs.Bool("json", false, "print results as JSON instead of a table")
	n := fs.Int("n", 0, "override every benchmark's message / round-trip count")
	only := fs.String("only", "", "comma-separated names or prefixes to run (e.g. probe,ring.pingpong); default all")
	dir := fs.String("dir", "", "parent directory for shared files (default /dev/shm or $TMPDIR)")
	list := fs.Bool("list", false, "list the benchmarks and exit")
	timeout := fs.Duration("timeout", time.Minute, "bound on each benchmark (children are killed past it)")
	profile := fs.String("cpuprofile", "", "write CPU profiles into this directory: bench.pprof for this process, <role>-<pid>.pprof for each child")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "shmbus bench: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	var sel []string
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			sel = append(sel, s)
		}
	}
	if *list {
		for _, e := range bench.Suite() {
			refs := strings.Join(e.Refs, ",")
			if refs == "" {
				refs = "-"
			}
			fmt.Printf("%-26s vs %s\n", e.Name, refs)
		}
		return nil
	}
	if len(sel) > 0 {
		found := false
		for _, e := range bench.Suite() {
			found = found || bench.Selected(e.Name, sel)
		}
		if !found {
			return fmt.Errorf("-only %q matches no benchmark (see -list)", *only)
		}
	}

	if *profile != "" {
		stop, err := startProfiles(*profile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep := benchReport{Host: host(), Quick: *quick, Started: time.Now()}
	if !*asJSON {
		h := rep.Host
		fmt.Printf("shmbus bench: %d CPUs (pinned %s), GOMAXPROCS %d, %s, linux %s, load %s%s\n",
			h.CPUs, h.Pinned, h.GOMAXPROCS, h.Go, h.Kernel, h.LoadAvg, map[bool]string{true: ", quick"}[*quick])
	}
	start := time.Now()
	rep.Results = bench.Run(bench.Options{
		Quick: *quick, N: *n, Only: sel, Dir: *dir, Timeout: *timeout,
		Progress: func(r *bench.Result) {
			fmt.Fprintf(os.Stderr, "  %-26s done (%.1fs)\n", r.Name, time.Since(start).Seconds())
		},
	})
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Println()
		if err := bench.WriteTable(os.Stdout, rep.Results); err != nil {
			return err
		}
		fmt.Printf("\n%d benchmarks in %.1fs\n", len(rep.Results), time.Since(start).Seconds())
	}
	failed := 0
	for _, r := range rep.Results {
		if r.Err != "" {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d benchmark(s) failed", failed)
	}
	return nil
}

// startProfiles profiles this process into dir/bench.pprof and tells the
// benchmark children to profile themselves there too.
func startProfiles(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(abs, "bench.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	os.Setenv(bench.EnvProfile, abs)
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		os.Unsetenv(bench.EnvProfile)
	}, nil
}

func host() hostInfo {
	h := hostInfo{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version(), Pinned: "no"}
	if a, b, ok := bench.CPUs(); ok {
		h.Pinned = fmt.Sprintf("%d,%d", a, b)
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		h.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			h.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return h
}
