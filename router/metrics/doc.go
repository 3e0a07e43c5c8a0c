// Package metrics exports a running router's counters to Prometheus and
// serves them, with a health check and the Go profiler, over HTTP.
//
// The exporter never talks to the router. At each scrape it reads the stats
// snapshot the router publishes in the bus directory's counters segment
// (router.ReadStats: a sequence-locked copy of a JSON document), so a scrape
// costs the router's event loop nothing, and the same exporter works inside
// shmbusd or in any other process that can read the bus directory:
//
//	router loop ──every StatsEvery──▶ counters segment ◀──scrape── Exporter.Collect
//	                                  (seqlock, JSON)               Exporter.Check (/healthz)
//
// The router is alive while its snapshot keeps being refreshed: Check fails
// when the snapshot is older than the stale limit (WithStaleAfter), when the
// router's process is gone, or when there is no snapshot at all.
//
// Serve builds the HTTP side on a mux of its own (never
// http.DefaultServeMux): /metrics, /healthz and /debug/pprof/.
// docs/operations.md lists every metric.
package metrics
