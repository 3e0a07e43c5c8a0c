package main

import (
	"fmt"
	"io"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histograms of the demo: 1 ns to 1 min at 3 significant digits.
// Values outside are clamped, never dropped, so the count stays exact.
const (
	histMin     = 1
	histMax     = int64(time.Minute)
	histSigFigs = 3
)

// latHist records latencies in nanoseconds; Record does not allocate. It
// belongs to one goroutine at a time.
type latHist struct{ h *hdrhistogram.Histogram }

func newLatHist() *latHist { return &latHist{hdrhistogram.New(histMin, histMax, histSigFigs)} }

func (l *latHist) Record(d time.Duration) {
	ns := min(max(int64(d), histMin), histMax)
	_ = l.h.RecordValue(ns) // cannot fail: ns is in range
}

func (l *latHist) Summary() *latSummary {
	h := l.h
	return &latSummary{
		Count: h.TotalCount(),
		P50:   h.ValueAtQuantile(50),
		P90:   h.ValueAtQuantile(90),
		P99:   h.ValueAtQuantile(99),
		P999:  h.ValueAtQuantile(99.9),
		Max:   h.Max(),
	}
}

// latSummary is what a demo child reports of its histogram (nanoseconds).
type latSummary struct {
	Count int64 `json:"count"`
	P50   int64 `json:"p50_ns"`
	P90   int64 `json:"p90_ns"`
	P99   int64 `json:"p99_ns"`
	P999  int64 `json:"p999_ns"`
	Max   int64 `json:"max_ns"`
}

// writeLatTable prints the demo's latency table, one row per summary.
func writeLatTable(w io.Writer, rows []latRow) {
	fmt.Fprintf(w, "%-28s %8s %9s %9s %9s %9s %9s\n", "latency", "count", "p50", "p90", "p99", "p99.9", "max")
	for _, r := range rows {
		s := r.s
		if s == nil || s.Count == 0 {
			fmt.Fprintf(w, "%-28s %8d %9s\n", r.name, 0, "-")
			continue
		}
		d := func(ns int64) string { return dur(time.Duration(ns)) }
		fmt.Fprintf(w, "%-28s %8d %9s %9s %9s %9s %9s\n", r.name, s.Count, d(s.P50), d(s.P90), d(s.P99), d(s.P999), d(s.Max))
	}
}

type latRow struct {
	name string
	s    *latSummary
}
