package router

import (
	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/shmbus/shmbus/ipc"
)

// The router times its own work: every routeSampleEvery-th non-empty read
// pass over a client's ring is timed (two clock reads), and the pass's
// time per record goes into a histogram, weighted by the records it
// handled. Sampling keeps the cost off the one-message-per-pass latency
// path (two clock reads are ~40 ns against a ~200 ns route). The stats
// snapshot carries the percentiles of the records timed since the
// previous snapshot (a window of Config.StatsEvery), then the histogram
// starts over.
const routeSampleEvery = 16

// RouteTime is the router's time per record read from a client ring
// (decode, match, copy to every subscriber), in nanoseconds, over the last
// stats interval.
type RouteTime struct {
	Samples int64 `json:"samples"` // records timed in the window
	P50     int64 `json:"p50_ns"`
	P90     int64 `json:"p90_ns"`
	P99     int64 `json:"p99_ns"`
	P999    int64 `json:"p999_ns"`
	Max     int64 `json:"max_ns"`
}

type routeTimer struct {
	h    *hdrhistogram.Histogram
	pass uint32
	t0   int64
}

func newRouteTimer() routeTimer {
	return routeTimer{h: hdrhistogram.New(1, 10_000_000, 2)} // 1 ns .. 10 ms, 2 significant digits
}

// start begins a read pass; it reports whether this pass is timed.
func (t *routeTimer) start() bool {
	t.pass++
	if t.pass%routeSampleEvery != 0 {
		return false
	}
	t.t0 = ipc.MonotonicNanos()
	return true
}

// stop ends a timed pass that handled n records.
func (t *routeTimer) stop(n int) {
	if n <= 0 {
		t.pass-- // an empty pass does not use up the sample
		return
	}
	per := (ipc.MonotonicNanos() - t.t0) / int64(n)
	_ = t.h.RecordValues(max(per, 1), int64(n)) // past 10 ms: counted at the top (the error is "out of range")
}

// window returns the window's percentiles and starts a new window.
func (t *routeTimer) window() RouteTime {
	h := t.h
	rt := RouteTime{Samples: h.TotalCount()}
	if rt.Samples > 0 {
		rt.P50, rt.P90, rt.P99 = h.ValueAtQuantile(50), h.ValueAtQuantile(90), h.ValueAtQuantile(99)
		rt.P999, rt.Max = h.ValueAtQuantile(99.9), h.Max()
	}
	h.Reset()
	return rt
}
