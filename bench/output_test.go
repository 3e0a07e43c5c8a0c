package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sampleResults is a small made-up run: latency results with their
// distributions, throughput results with references and ratios, one
// failure and one result that no group holds.
func sampleResults() []*Result {
	lat := func(name string, base int64, rate int) *Result {
		h := NewHist()
		for i := int64(1); i <= 5000; i++ {
			h.Record(base + i*base/500)
		}
		r := latencyResult(name, h)
		r.Rate = rate
		return r
	}
	tput := func(name string, rate float64, size int, refs ...string) *Result {
		r := throughputResult(name, 1000, size, time.Duration(1e12/rate))
		r.Refs = refs
		return r
	}
	rs := []*Result{
		lat("uds.pingpong", 40_000, 0),
		lat("nats.reqrep", 130_000, 0),
		lat("bus.reqrep/3proc/yield", 36_000, 0),
		lat("nats.oneway", 90_000, 10_000),
		lat("bus.oneway/backoff", 9_000, 10_000),
		tput("uds.tput/16", 150e6, 16),
		tput("nats.payload/16", 2.5e6, 16),
		tput("bus.payload/16", 7e6, 16, "nats.payload/16", "uds.tput/16"),
		tput("nats.pubsub/4to1", 2e6, 64),
		tput("bus.pubsub/4to1/backoff", 6e6, 64, "nats.pubsub/4to1"),
		tput("bus.wildcards/10000", 4e6, 64, "nats.wildcards/10000", "bus.wildcards/1"),
		lat("odd.one", 1000, 0),
		{Name: "bus.idle/1000", Err: "bench: bus.idle/1000: <boom> & | \"quoted\""},
	}
	rs[7].RouterNsPerMsg = 95
	fillRatios(rs)
	return rs
}

// svgSeries parses an SVG document, failing the test if it is not
// well-formed XML with an <svg> root, and returns the data-name of every
// <g> of the given class.
func svgSeries(t *testing.T, doc []byte, class string) []string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(doc))
	var names []string
	root := ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, doc)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root == "" {
			root = se.Name.Local
		}
		if se.Name.Local != "g" {
			continue
		}
		var c, n string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "class":
				c = a.Value
			case "data-name":
				n = a.Value
			}
		}
		if c == class {
			names = append(names, n)
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return names
}

func TestWritePlot(t *testing.T) {
	var b bytes.Buffer
	if err := WritePlot(&b, sampleResults(), `shmbus <bench> & "friends"`); err != nil {
		t.Fatal(err)
	}
	curves := svgSeries(t, b.Bytes(), "series")
	want := []string{"uds.pingpong", "nats.reqrep", "bus.reqrep/3proc/yield", "nats.oneway", "bus.oneway/backoff"}
	if !slices.Equal(curves, want) {
		t.Errorf("latency curves %q, want %q", curves, want)
	}
	bars := svgSeries(t, b.Bytes(), "bar")
	want = []string{"nats.pubsub/4to1", "bus.pubsub/4to1/backoff", "uds.tput/16", "nats.payload/16", "bus.payload/16", "bus.wildcards/10000"}
	if !slices.Equal(bars, want) {
		t.Errorf("bars %q, want %q", bars, want)
	}
	for _, s := range []string{"99.9%", "2.80x nats.payload/16", "percentile"} {
		if !strings.Contains(b.String(), s) {
			t.Errorf("plot lacks %q", s)
		}
	}

	b.Reset()
	if err := WritePlot(&b, nil, "empty"); err != nil {
		t.Fatal(err)
	}
	if got := svgSeries(t, b.Bytes(), "series"); len(got) != 0 {
		t.Errorf("empty plot has series %q", got)
	}
}

func TestPlotLabels(t *testing.T) {
	for k, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%", "99.999%"} {
		if got := percentLabel(k); got != want {
			t.Errorf("percentLabel(%d) = %q, want %q", k, got, want)
		}
	}
	if got := nsLabel(1e4); got != "10us" {
		t.Errorf("nsLabel(1e4) = %q", got)
	}
	if got := rateLabel(5.92e6); got != "5.92M/s" {
		t.Errorf("rateLabel = %q", got)
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := WriteMarkdown(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, s := range []string{
		"### Request/reply round trip, 64 B\n",
		"| **`bus.oneway/backoff`** | 10000 |",
		"| **`bus.payload/16`** | 16 | 7.000 | 0.112 | 95 | 2.80x nats.payload/16, 0.05x uds.tput/16 |",
		"? bus.wildcards/1", // a reference that did not run
		"### Other latencies\n",
		"`odd.one`",
		"- **FAILED** `bus.idle/1000`: bench: bus.idle/1000: <boom> & \\| \"quoted\"\n",
	} {
		if !strings.Contains(md, s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	// Every table row has as many cells as its header.
	var cols int
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if cols == 0 {
			cols = n
		} else if n != cols {
			t.Errorf("row with %d bars under a header with %d: %s", n, cols, line)
		}
	}
}

const sampleDoc = `# Benchmarks

Prose written by hand, kept as is.
It mentions <!-- bench:begin --> in passing, not on a line of its own.

## Generated

<!-- bench:begin -->
old tables
| a | b |
<!-- bench:end -->

## After

More prose, after the markers.
`

func TestReplaceSection(t *testing.T) {
	got, err := ReplaceSection(sampleDoc, "new tables\n")
	if err != nil {
		t.Fatal(err)
	}
	before, after, _ := strings.Cut(sampleDoc, MarkBegin+"\n")
	_, after, _ = strings.Cut(after, MarkEnd)
	want := before + MarkBegin + "\n\nnew tables\n\n" + MarkEnd + after
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	again, err := ReplaceSection(got, "new tables")
	if err != nil || again != got {
		t.Errorf("not idempotent (%v):\n%s", err, again)
	}

	got, err = ReplaceSection("# Doc\nprose", "tables")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Doc\nprose\n\n" + MarkBegin + "\n\ntables\n\n" + MarkEnd + "\n"; got != want {
		t.Errorf("appended section:\n%q\nwant\n%q", got, want)
	}

	for _, bad := range []string{
		MarkBegin + "\nx\n",
		MarkEnd + "\nx\n" + MarkBegin + "\n",
		MarkBegin + "\n" + MarkEnd + "\n" + MarkBegin + "\n" + MarkEnd + "\n",
	} {
		if _, err := ReplaceSection(bad, "x"); !errors.Is(err, ErrMarkers) {
			t.Errorf("ReplaceSection(%q) = %v, want ErrMarkers", bad, err)
		}
	}
}

func TestUpdateMarkdownFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "benchmarks.md")
	if err := os.WriteFile(path, []byte(sampleDoc), 0o640); err != nil {
		t.Fatal(err)
	}
	var tables strings.Builder
	if err := WriteMarkdown(&tables, sampleResults()); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdownFile(path, tables.String()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	head, _, _ := strings.Cut(sampleDoc, MarkBegin+"\n")
	_, tail, _ := strings.Cut(sampleDoc, MarkEnd)
	if !strings.HasPrefix(doc, head+MarkBegin+"\n") || !strings.HasSuffix(doc, MarkEnd+tail) {
		t.Errorf("prose outside the markers changed:\n%s", doc)
	}
	if strings.Contains(doc, "old tables") || !strings.Contains(doc, "bus.payload/16") {
		t.Errorf("section not replaced:\n%s", doc)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v (%v), want 0640 kept", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := UpdateMarkdownFile(filepath.Join(t.TempDir(), "missing.md"), "x"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
