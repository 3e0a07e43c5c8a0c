package bench

import (
	"os"
	"time"
)

// Params sizes one benchmark run. Zero fields take defaults.
type Params struct {
	N        int           // messages (throughput) or round trips (latency)
	Size     int           // payload bytes
	Idle     string        // ipc idle strategy (ring and bus benchmarks): spin, yield, backoff, block
	Subs     int           // subscriber processes of a pub/sub benchmark, consumer processes of bus.queue (default 1)
	Procs    int           // processes of a bus request/reply: 2 (router embedded) or 3
	Conns    int           // idle connections attached to the router (bus.idle)
	Pubs     int           // publisher processes of a fan-in (N -> 1) pub/sub
	Topics   int           // distinct topics published round robin (*.topics)
	Wild     int           // wildcard subscriptions of the subscriber (*.wildcards)
	Rate     int           // fixed send rate, msgs/s, of a paced benchmark; 0 = as fast as possible
	Variant  string        // bus.queue: "" (SendAsync), "sync" (Send), "ttl" (a TTL on every message), "filter" (a consumer selector)
	Prefetch int           // bus.queue: each consumer's prefetch (default DefaultQueuePrefetch)
	QueueMax int           // bus.queue: the queue's MaxMsgs, past which it holds the sender (default the router's, 100,000)
	Backlog  int           // bus.queue.prio: low-priority messages kept waiting in the queue (0: empty)
	Dir      string        // parent of the temp dir for shared files; "" = TempDir's choice
	Timeout  time.Duration // bound on the whole benchmark; 0 = defaultTimeout
}

const defaultTimeout = 60 * time.Second

func (p Params) timeout() time.Duration {
	if p.Timeout > 0 {
		return p.Timeout
	}
	return defaultTimeout
}

func (p Params) n(def int) int {
	if p.N > 0 {
		return p.N
	}
	return def
}

func (p Params) size(def int) int {
	if p.Size > 0 {
		return p.Size
	}
	return def
}

// tempDir makes a fresh directory for shared files and returns the func
// that removes it.
func (p Params) tempDir() (string, func(), error) {
	var dir string
	var err error
	if p.Dir != "" {
		dir, err = os.MkdirTemp(p.Dir, "shmbus-bench-")
	} else {
		dir, err = TempDir()
	}
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}

// Result is one benchmark's outcome: a latency histogram or a throughput.
type Result struct {
	Name string `json:"name"`

	Lat  *Summary    `json:"latency,omitempty"`      // round trips (*.oneway: one way), ns
	Dist []DistPoint `json:"latency_dist,omitempty"` // Lat's percentile distribution (Hist.Distribution)
	// Rate is the fixed rate a paced benchmark sent at (msgs/s; every
	// sample then runs from the message's intended send time, so a stall
	// counts against every message it delays); 0: as fast as possible.
	Rate int `json:"rate,omitempty"`

	Msgs        int64         `json:"msgs,omitempty"` // messages moved (throughput)
	Size        int           `json:"size,omitempty"` // payload bytes
	Elapsed     time.Duration `json:"elapsed_ns,omitempty"`
	MsgsPerSec  float64       `json:"msgs_per_sec,omitempty"`
	BytesPerSec float64       `json:"bytes_per_sec,omitempty"`

	// Futex syscalls (waits + wakes, both processes) per operation: per
	// round trip for latency results, per message for throughput; -1 when
	// not counted.
	SyscallsPerOp float64 `json:"syscalls_per_op"`

	// RouterNsPerMsg is the CPU time of the router's process (bus.*
	// pub/sub) per delivered message, from the start of the timed part to
	// the last message seen (idle spinning included); 0 when not measured.
	RouterNsPerMsg float64 `json:"router_cpu_ns_per_msg,omitempty"`

	// Filled by the suite: the references measured in the same run, this
	// result's ratio to each (latency: p50/p50, lower is better; throughput:
	// msgs/s over msgs/s, higher is better), and the cache-line probe just
	// before and after.
	Refs        []string  `json:"refs,omitempty"`
	Ratios      []float64 `json:"ratios,omitempty"`
	ProbeBefore *Summary  `json:"probe_before,omitempty"`
	ProbeAfter  *Summary  `json:"probe_after,omitempty"`
	Placement   string    `json:"placement,omitempty"` // near, far, or mixed

	Err string `json:"error,omitempty"` // the run failed; nothing else is valid
}

func latencyResult(name string, h *Hist) *Result {
	s := h.Summary()
	return &Result{Name: name, Lat: &s, Dist: h.Distribution(), SyscallsPerOp: -1}
}

func throughputResult(name string, msgs int64, size int, d time.Duration) *Result {
	r := &Result{Name: name, Msgs: msgs, Size: size, Elapsed: d, SyscallsPerOp: -1}
	if sec := d.Seconds(); sec > 0 {
		r.MsgsPerSec = float64(msgs) / sec
		r.BytesPerSec = float64(msgs) * float64(size) / sec
	}
	return r
}
