package main

import (
	"bytes"
	"encoding/json"
	"errors"
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
trips (closed loop, every round trip recorded) or of one-way delivery, or
one-way throughput; each row is compared with references measured in the
same run, and bracketed by a cache-line probe taken just before and after
("near" when its p50 is under 150 ns, "far" when the two CPUs were placed
far apart). The router and bus rows (bus.*) are compared with a
nats-server and nats.go clients run on loopback in the same way (nats.*).

-rate N sends the paced benchmarks (-list marks them) at N msgs/s: every
latency sample then runs from its message's intended send time, so a stall
counts against every message it delays (no coordinated omission); each
sends for at most 10 s (1 s with -quick) unless -n is given.

-plot, -markdown and -json can be combined; -from renders a saved -json
report again without running anything.`

// benchReport is the -json output.
type benchReport struct {
	Host    hostInfo        `json:"host"`
	Quick   bool            `json:"quick"`
	Rate    int             `json:"rate,omitempty"`
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

// String is the one-line description of the host and run.
func (r *benchReport) String() string {
	h := r.Host
	s := fmt.Sprintf("%d CPUs (pinned %s), GOMAXPROCS %d, %s, linux %s, load %s", h.CPUs, h.Pinned, h.GOMAXPROCS, h.Go, h.Kernel, h.LoadAvg)
	if r.Quick {
		s += ", quick"
	}
	if r.Rate > 0 {
		s += fmt.Sprintf(", paced at %d msgs/s", r.Rate)
	}
	return s
}

func runBench(args []string) error {
	fs := newFlagSet("bench", "", benchDoc)
	quick := fs.Bool("quick", false, "a tenth of the counts, and without the 64-subscriber fan-outs")
	asJSON := fs.Bool("json", false, "print results as JSON instead of a table")
	n := fs.Int("n", 0, "override every benchmark's message / round-trip count")
	only := fs.String("only", "", "comma-separated names or prefixes to run (e.g. probe,ring.pingpong); default all")
	dir := fs.String("dir", "", "parent directory for shared files (default /dev/shm or $TMPDIR)")
	list := fs.Bool("list", false, "list the benchmarks and exit")
	timeout := fs.Duration("timeout", time.Minute, "bound on each benchmark (children are killed past it)")
	rate := fs.Int("rate", 0, "send the paced benchmarks at this fixed rate, msgs/s (latency from intended send times); 0: as fast as possible")
	plot := fs.String("plot", "", "also draw the results into this SVG file: latency percentile curves, throughput bars with ratios")
	markdown := fs.String("markdown", "", "also write the results as markdown tables into this file, between the "+
		bench.MarkBegin+" and "+bench.MarkEnd+" lines (appended when it has none)")
	from := fs.String("from", "", "do not run: read the results from this -json report and print, plot or write them")
	profile := fs.String("cpuprofile", "", "write CPU profiles into this directory: bench.pprof for this process, <role>-<pid>.pprof for each child")
	memprofile := fs.String("memprofile", "", "write allocation profiles into this directory: bench.mem.pprof for this process, <role>-<pid>.mem.pprof for each child")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "shmbus bench: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if *rate < 0 {
		fmt.Fprintf(fs.Output(), "shmbus bench: -rate %d: must be 0 or more\n", *rate)
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
			var notes []string
			if e.Paced {
				notes = append(notes, "paced")
			}
			if e.FullOnly {
				notes = append(notes, "not with -quick")
			}
			note := ""
			if len(notes) > 0 {
				note = "  (" + strings.Join(notes, ", ") + ")"
			}
			fmt.Printf("%-26s vs %s%s\n", e.Name, refs, note)
		}
		return nil
	}

	var rep benchReport
	start := time.Now()
	if *from != "" {
		b, err := os.ReadFile(*from)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("-from %s: %w", *from, err)
		}
	} else {
		opts := bench.Options{Quick: *quick, N: *n, Only: sel, Dir: *dir, Timeout: *timeout, Rate: *rate}
		if len(bench.Plan(opts)) == 0 {
			return fmt.Errorf("-only %q matches no benchmark of this run (see -list; -quick leaves some out)", *only)
		}
		var err error
		if rep, err = runSuite(opts, *asJSON, *profile, *memprofile); err != nil {
			return err
		}
	}
	if err := writeBenchOutputs(&rep, *asJSON, *plot, *markdown); err != nil {
		return err
	}
	if !*asJSON && *from == "" {
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

// runSuite runs the benchmarks, profiled when asked, with a progress line
// on stderr when it is a terminal.
func runSuite(opts bench.Options, quiet bool, cpuDir, memDir string) (rep benchReport, err error) {
	rep = benchReport{Host: host(), Quick: opts.Quick, Rate: opts.Rate, Started: time.Now()}
	if cpuDir != "" {
		stop, err := startProfiles(cpuDir)
		if err != nil {
			return rep, err
		}
		defer stop()
	}
	if memDir != "" {
		stop, err := startMemProfiles(memDir)
		if err != nil {
			return rep, err
		}
		defer func() { err = errors.Join(err, stop()) }()
	}
	if !quiet {
		fmt.Printf("shmbus bench: %s\n", &rep)
	}
	if isTerminal(os.Stderr) {
		p := newProgress(os.Stderr, time.Now)
		defer p.close()
		opts.OnStart, opts.Progress = p.starting, p.finished
	}
	rep.Results = bench.Run(opts)
	return rep, nil
}

// writeBenchOutputs prints the table or the JSON report, and writes the
// plot and the markdown section when asked.
func writeBenchOutputs(rep *benchReport, asJSON bool, plot, markdown string) error {
	if asJSON {
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
	}
	if plot != "" {
		var b bytes.Buffer
		title := fmt.Sprintf("shmbus bench, %s: %s", rep.Started.UTC().Format("2006-01-02"), rep)
		if err := bench.WritePlot(&b, rep.Results, title); err != nil {
			return err
		}
		if err := os.WriteFile(plot, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("-plot: %w", err)
		}
	}
	if markdown != "" {
		section, err := markdownSection(rep, markdown, plot)
		if err != nil {
			return err
		}
		if err := bench.UpdateMarkdownFile(markdown, section); err != nil {
			return fmt.Errorf("-markdown: %w", err)
		}
	}
	return nil
}

// markdownSection is the generated part of the markdown file: what ran
// where, the plot (linked relative to the file) and the tables.
func markdownSection(rep *benchReport, mdPath, plot string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Generated by `shmbus bench` (`make bench-docs`) on %s: %s. "+
		"Everything between the bench markers is rewritten by it; edit the prose outside them.\n\n",
		rep.Started.UTC().Format("2006-01-02 15:04 MST"), rep)
	if plot != "" {
		rel, err := filepath.Rel(filepath.Dir(mdPath), plot)
		if err != nil {
			rel = plot
		}
		fmt.Fprintf(&b, "![latency percentile distributions and throughput, shmbus against its references](%s)\n\n", filepath.ToSlash(rel))
	}
	if err := bench.WriteMarkdown(&b, rep.Results); err != nil {
		return "", err
	}
	return b.String(), nil
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

// startMemProfiles tells the benchmark children to write allocation
// profiles into dir; the func writes this process's, dir/bench.mem.pprof.
func startMemProfiles(dir string) (func() error, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	os.Setenv(bench.EnvMemProfile, abs)
	return func() error {
		os.Unsetenv(bench.EnvMemProfile)
		return bench.WriteMemProfile(filepath.Join(abs, "bench.mem.pprof"))
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
