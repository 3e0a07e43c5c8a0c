package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/bench"
)

// The bench command at tiny sizes: every output it can write, parsed.
// Timing is never asserted.

const benchDocSample = `# Benchmarks

Hand-written prose before.

<!-- bench:begin -->
stale tables
<!-- bench:end -->

Hand-written prose after.
`

// svgNames checks doc is well-formed XML with an <svg> root and returns
// the data-name of its curves and bars.
func svgNames(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var names []string
	first := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if first && se.Name.Local != "svg" {
			t.Fatalf("root %q, want svg", se.Name.Local)
		}
		first = false
		for _, a := range se.Attr {
			if a.Name.Local == "data-name" {
				names = append(names, a.Value)
			}
		}
	}
}

// TestBenchOutputs runs two paced socket benchmarks and one throughput
// benchmark with every output on: JSON on stdout, the plot, the markdown
// section and memory profiles of this process and the children.
func TestBenchOutputs(t *testing.T) {
	dir := t.TempDir()
	svg, md, prof := filepath.Join(dir, "out", "bench.svg"), filepath.Join(dir, "bench.md"), filepath.Join(dir, "prof")
	if err := os.MkdirAll(filepath.Dir(svg), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(md, []byte(benchDocSample), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := captureStdout(t, func() error {
		return runBench([]string{"-only", "uds.pingpong,tcp.pingpong,tcp.tput/64", "-n", "50", "-rate", "5000",
			"-dir", dir, "-json", "-plot", svg, "-markdown", md, "-memprofile", prof})
	})
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, out)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-json output does not parse: %v\n%s", err, out)
	}
	if rep.Rate != 5000 || len(rep.Results) != 3 {
		t.Fatalf("report: rate %d, %d results", rep.Rate, len(rep.Results))
	}
	for _, r := range rep.Results {
		switch {
		case r.Err != "":
			t.Errorf("%s: %s", r.Name, r.Err)
		case r.Name == "tcp.tput/64":
			if r.Msgs != 50 || r.Rate != 0 {
				t.Errorf("%s: %+v", r.Name, r)
			}
		case r.Lat == nil || r.Lat.Count != 50 || r.Rate != 5000 || len(r.Dist) == 0 || r.Lat.P9999 == 0:
			t.Errorf("%s: %+v, want 50 paced samples with a distribution", r.Name, r)
		}
	}

	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(svgNames(t, b), ","); got != "uds.pingpong,tcp.pingpong,tcp.tput/64" {
		t.Errorf("plotted %q", got)
	}

	b, err = os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	if !strings.HasPrefix(doc, "# Benchmarks\n\nHand-written prose before.\n\n"+bench.MarkBegin+"\n") ||
		!strings.HasSuffix(doc, bench.MarkEnd+"\n\nHand-written prose after.\n") {
		t.Errorf("prose outside the markers changed:\n%s", doc)
	}
	for _, s := range []string{"](out/bench.svg)", "| `tcp.pingpong` | 5000 |", "paced at 5000 msgs/s"} {
		if !strings.Contains(doc, s) {
			t.Errorf("markdown lacks %q:\n%s", s, doc)
		}
	}
	if strings.Contains(doc, "stale tables") {
		t.Error("old section kept")
	}

	ents, err := os.ReadDir(prof)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	got := strings.Join(names, " ")
	if !strings.Contains(got, "bench.mem.pprof") || !strings.Contains(got, "uds-echo-") || !strings.Contains(got, "uds-sink-") {
		t.Errorf("memory profiles: %s", got)
	}
	if os.Getenv(bench.EnvMemProfile) != "" {
		t.Error("profile variable left set")
	}
}

// TestBenchFrom renders a saved report without running anything.
func TestBenchFrom(t *testing.T) {
	dir := t.TempDir()
	rep := benchReport{Host: host(), Started: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), Results: []*bench.Result{
		{Name: "nats.pubsub/1to1", Size: 64, Msgs: 1000, MsgsPerSec: 2e6, SyscallsPerOp: -1},
		{Name: "bus.pubsub/1to1/backoff", Size: 64, Msgs: 1000, MsgsPerSec: 6e6, SyscallsPerOp: 0,
			Refs: []string{"nats.pubsub/1to1"}, Ratios: []float64{3}},
	}}
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	from, md, svg := filepath.Join(dir, "r.json"), filepath.Join(dir, "doc.md"), filepath.Join(dir, "p.svg")
	if err := os.WriteFile(from, js, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(md, []byte("# Doc\n\nprose only\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := captureStdout(t, func() error { return runBench([]string{"-from", from, "-markdown", md, "-plot", svg}) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "bus.pubsub/1to1/backoff") || !strings.Contains(out, "3.00x") {
		t.Errorf("table:\n%s", out)
	}
	b, _ := os.ReadFile(md)
	if !strings.HasPrefix(string(b), "# Doc\n\nprose only\n\n"+bench.MarkBegin) || !strings.Contains(string(b), "2026-11-23 10:00 UTC") ||
		!strings.Contains(string(b), "| **`bus.pubsub/1to1/backoff`** | 64 | 6.000 |") {
		t.Errorf("markdown:\n%s", b)
	}
	s, _ := os.ReadFile(svg)
	if got := strings.Join(svgNames(t, s), ","); got != "nats.pubsub/1to1,bus.pubsub/1to1/backoff" {
		t.Errorf("plotted %q", got)
	}

	if err := os.WriteFile(from, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := captureStdout(t, func() error { return runBench([]string{"-from", from}) }); err == nil {
		t.Error("bad JSON accepted")
	}
}

func TestBenchFlags(t *testing.T) {
	out, err := captureStdout(t, func() error { return runBench([]string{"-list"}) })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"tcp.pingpong", "(paced)", "bus.pubsub/1to64/backoff", "not with -quick", "bus.wildcards/10000", "bus.idle/1000"} {
		if !strings.Contains(out, s) {
			t.Errorf("-list lacks %q", s)
		}
	}
	for _, args := range [][]string{{"-rate", "-5"}, {"extra"}} {
		if _, err := captureStdout(t, func() error { return runBench(args) }); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if _, err := captureStdout(t, func() error { return runBench([]string{"-only", "no.such"}) }); err == nil {
		t.Error("-only no.such accepted")
	}
}

// TestProgress drives the progress line with a fake clock.
func TestProgress(t *testing.T) {
	var out syncBuf
	now := time.Unix(100, 0)
	p := newProgress(&out, func() time.Time { return now })
	p.starting(0, 3, "uds.pingpong")
	now = now.Add(1500 * time.Millisecond)
	p.finished(&bench.Result{Name: "uds.pingpong"})
	p.starting(1, 3, "tcp.pingpong")
	p.finished(&bench.Result{Name: "tcp.pingpong", Err: "boom"})
	p.close()
	got := out.String()
	for _, s := range []string{"\r\x1b[K[1/3] uds.pingpong 0.0s", "[1/3] uds.pingpong 1.5s (suite 2s)", "[2/3] tcp.pingpong",
		"\r\x1b[KFAILED tcp.pingpong: boom\n"} {
		if !strings.Contains(got, s) {
			t.Errorf("progress lacks %q in %q", s, got)
		}
	}
	if !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("line not cleared at the end: %q", got)
	}
	f, err := os.CreateTemp(t.TempDir(), "not-a-tty")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a file is a terminal")
	}
}
