package bench

import (
	"fmt"
	"strings"
	"time"
)

// NearThreshold is the probe p50 under which the two CPUs count as placed
// near each other.
const NearThreshold = 150 * time.Nanosecond

// Entry is one benchmark of the suite.
type Entry struct {
	Name  string
	Refs  []string // results of the same run this one is compared with; "probe" = its own bracket
	Run   func(Params) (*Result, error)
	Full  Params // sizes of a full run
	Quick Params // sizes of a -quick run
	// Paced entries are latency benchmarks that can send at a fixed rate
	// (Options.Rate); Full.Rate and Quick.Rate, when set, are their rate
	// when none is asked for.
	Paced bool
	// FullOnly entries are left out of -quick runs.
	FullOnly bool
}

// The points of the suite's sweeps.
var (
	sweepFanOut    = []int{1, 4, 16, 64}                       // subscribers of bus.pubsub/1toK and nats.pubsub/1toK
	sweepPayloads  = []int{16, 64, 1 << 10, 64 << 10, 1 << 20} // bytes: bus.payload, nats.payload, uds.tput
	sweepTopics    = []int{1, 1_000, 100_000, 1_000_000}       // distinct topics: bus.topics, nats.topics
	sweepWilds     = []int{1, 10, 100, 1_000, 10_000}          // wildcard subscriptions: bus.wildcards, nats.wildcards
	sweepIdle      = []int{0, 10, 100, 1_000}                  // idle connections: bus.idle
	sweepConsumers = []int{1, 2, 4}                            // consumer processes: bus.queue/Kc
)

// Full counts of the sweeps' entries, by payload size or fan-out (-quick:
// a tenth): a few GB of payload each, fewer messages the larger they are.
var (
	udsN         = map[int]int{16: 50_000_000, 64: 50_000_000, 1 << 10: 10_000_000, 64 << 10: 200_000, 1 << 20: 10_000}
	natsPayloadN = map[int]int{16: 2_000_000, 64: 2_000_000, 1 << 10: 1_000_000, 64 << 10: 30_000, 1 << 20: 2_000}
	busPayloadN  = map[int]int{16: 10_000_000, 64: 10_000_000, 1 << 10: 5_000_000, 64 << 10: 100_000, 1 << 20: 5_000}
	natsFanOutN  = map[int]int{1: 2_000_000, 4: 1_000_000, 16: 200_000, 64: 50_000}
)

// sweepRefs is the references of an entry (self) of a sweep: the NATS
// entry of the same point, and the sweep's first entry unless self is it.
func sweepRefs(self, nats, first string) []string {
	if self == first {
		return []string{nats}
	}
	return []string{nats, first}
}

// Suite lists the benchmarks in the order they run: references first.
func Suite() []Entry {
	e := func(name string, refs []string, run func(Params) (*Result, error), full, quick Params) Entry {
		return Entry{Name: name, Refs: refs, Run: run, Full: full, Quick: quick}
	}
	paced := func(x Entry) Entry { x.Paced = true; return x }
	sz := func(n, size int) Params { return Params{N: n, Size: size} }
	idle := func(n int, idle string) Params { return Params{N: n, Idle: idle} }
	none := []string(nil)
	subs := func(n, k int) Params { return Params{N: n, Subs: k} }
	reqrep := func(n, procs int, idle string) Params { return Params{N: n, Procs: procs, Idle: idle} }
	pubsub := func(n, k int, idle string) Params { return Params{N: n, Subs: k, Idle: idle} }
	conns := func(n, c int) Params { return Params{N: n, Conns: c} }
	rate := func(n, r int) Params { return Params{N: n, Rate: r} }
	vsReq := []string{"nats.reqrep", "uds.pingpong"}
	vs1, vs4, vsIdle := []string{"nats.pubsub/1to1"}, []string{"nats.pubsub/1to4"}, []string{"bus.idle/0"}
	vsQueue := []string{"nats.pubsub/1to1", "bus.pubsub/1to1/backoff"}
	out := []Entry{
		e("probe", none, Probe, sz(1_000_000, 0), sz(100_000, 0)),
		e("probe.proc", []string{"probe"}, ProbeProcess, sz(1_000_000, 0), sz(100_000, 0)),
		e("chan.tput/64", none, ChanThroughput, sz(50_000_000, 64), sz(5_000_000, 64)),
		e("chan.tput/1024", none, ChanThroughput, sz(10_000_000, 1024), sz(1_000_000, 1024)),
	}
	// The socket baselines, with the sizes of the payload sweep.
	for _, size := range sweepPayloads {
		full := udsN[size]
		out = append(out, e(fmt.Sprintf("uds.tput/%d", size), none, UDSThroughput, sz(full, size), sz(full/10, size)))
	}
	out = append(out,
		e("tcp.tput/64", []string{"uds.tput/64"}, TCPThroughput, sz(20_000_000, 64), sz(2_000_000, 64)),
		e("tcp.tput/1024", []string{"uds.tput/1024"}, TCPThroughput, sz(5_000_000, 1024), sz(500_000, 1024)),
		paced(e("uds.pingpong", none, UDSPingPong, sz(200_000, 64), sz(20_000, 64))),
		paced(e("tcp.pingpong", []string{"uds.pingpong"}, TCPPingPong, sz(200_000, 64), sz(20_000, 64))),
		e("futex.block", none, FutexBlock, sz(200_000, 0), sz(20_000, 0)),
		e("futex.spinpark", []string{"probe"}, FutexSpinPark, sz(5_000_000, 0), sz(500_000, 0)),
		e("ring.pingpong/spin", []string{"probe"}, RingPingPong, idle(10_000_000, "spin"), idle(1_000_000, "spin")),
		e("ring.pingpong/backoff", []string{"probe"}, RingPingPong, idle(10_000_000, "backoff"), idle(1_000_000, "backoff")),
		e("ring.pingpong/block", []string{"futex.block"}, RingPingPong, idle(200_000, "block"), idle(20_000, "block")),
		e("chan.mpmc/64", none, ChanMPMC, sz(20_000_000, 64), sz(2_000_000, 64)),
		e("ring.inproc/64", []string{"chan.tput/64"}, RingInProc, sz(50_000_000, 64), sz(5_000_000, 64)),
		e("ring.inproc/1024", []string{"chan.tput/1024"}, RingInProc, sz(10_000_000, 1024), sz(1_000_000, 1024)),
		e("mpmc.inproc/64", []string{"chan.mpmc/64"}, MPMCInProc, sz(20_000_000, 64), sz(2_000_000, 64)),
		e("ring.tput/64", []string{"uds.tput/64", "chan.tput/64"}, RingThroughput, sz(50_000_000, 64), sz(5_000_000, 64)),
		e("ring.tput/1024", []string{"uds.tput/1024", "chan.tput/1024"}, RingThroughput, sz(10_000_000, 1024), sz(1_000_000, 1024)),

		// The NATS references.
		paced(e("nats.reqrep", none, NATSReqRep, sz(20_000, 64), sz(2_000, 64))),
		paced(e("nats.oneway", none, NATSOneWay, rate(100_000, DefaultOneWayRate), rate(10_000, DefaultOneWayRate))),
	)
	// Fan-out: N to each subscriber, fewer as they grow (64: full runs only).
	for _, k := range sweepFanOut {
		n := natsFanOutN[k]
		x := e(fmt.Sprintf("nats.pubsub/1to%d", k), none, NATSPubSub, subs(n, k), subs(n/10, k))
		x.FullOnly = k > 16
		out = append(out, x)
	}
	out = append(out, e("nats.pubsub/4to1", none, NATSFanIn, Params{N: 500_000, Pubs: 4}, Params{N: 50_000, Pubs: 4}))
	for _, size := range sweepPayloads {
		full := natsPayloadN[size]
		out = append(out, e(fmt.Sprintf("nats.payload/%d", size), none, NATSPayload, sz(full, size), sz(full/10, size)))
	}
	for _, t := range sweepTopics {
		full, quick := max(2_000_000, 2*t), max(200_000, t)
		out = append(out, e(fmt.Sprintf("nats.topics/%d", t), none, NATSTopics, Params{N: full, Topics: t}, Params{N: quick, Topics: t}))
	}
	for _, k := range sweepWilds {
		out = append(out, e(fmt.Sprintf("nats.wildcards/%d", k), none, NATSWildcards, Params{N: 1_000_000, Wild: k}, Params{N: 100_000, Wild: k}))
	}

	// The bus. bus.*/spin: a spinning router and spinning clients are three
	// or four spinners on a 2-vCPU host (round trips of milliseconds), so
	// their counts are small.
	out = append(out,
		paced(e("bus.reqrep/2proc/spin", vsReq, BusReqRep, reqrep(500, 2, "spin"), reqrep(100, 2, "spin"))),
		paced(e("bus.reqrep/2proc/backoff", vsReq, BusReqRep, reqrep(100_000, 2, "backoff"), reqrep(10_000, 2, "backoff"))),
		paced(e("bus.reqrep/2proc/yield", vsReq, BusReqRep, reqrep(200_000, 2, "yield"), reqrep(20_000, 2, "yield"))),
		paced(e("bus.reqrep/3proc/spin", vsReq, BusReqRep, reqrep(1_500, 3, "spin"), reqrep(300, 3, "spin"))),
		paced(e("bus.reqrep/3proc/backoff", vsReq, BusReqRep, reqrep(100_000, 3, "backoff"), reqrep(10_000, 3, "backoff"))),
		paced(e("bus.reqrep/3proc/yield", vsReq, BusReqRep, reqrep(200_000, 3, "yield"), reqrep(20_000, 3, "yield"))),
		paced(e("bus.oneway/backoff", []string{"nats.oneway"}, BusOneWay,
			Params{N: 100_000, Rate: DefaultOneWayRate, Idle: "backoff"}, Params{N: 10_000, Rate: DefaultOneWayRate, Idle: "backoff"})),
		paced(e("bus.oneway/yield", []string{"nats.oneway"}, BusOneWay,
			Params{N: 100_000, Rate: DefaultOneWayRate, Idle: "yield"}, Params{N: 10_000, Rate: DefaultOneWayRate, Idle: "yield"})),
		e("bus.pubsub/1to1/spin", vs1, BusPubSub, pubsub(2_000_000, 1, "spin"), pubsub(300_000, 1, "spin")),
		e("bus.pubsub/1to1/backoff", vs1, BusPubSub, pubsub(10_000_000, 1, "backoff"), pubsub(1_000_000, 1, "backoff")),
		e("bus.pubsub/1to1/yield", vs1, BusPubSub, pubsub(10_000_000, 1, "yield"), pubsub(1_000_000, 1, "yield")),
		e("bus.pubsub/1to4/spin", vs4, BusPubSub, pubsub(1_000_000, 4, "spin"), pubsub(100_000, 4, "spin")),
		e("bus.pubsub/1to4/backoff", vs4, BusPubSub, pubsub(5_000_000, 4, "backoff"), pubsub(500_000, 4, "backoff")),
	)
	for _, k := range sweepFanOut[2:] { // 1to1 and 1to4 backoff are above
		n := 8_000_000 / k
		x := e(fmt.Sprintf("bus.pubsub/1to%d/backoff", k), []string{fmt.Sprintf("nats.pubsub/1to%d", k)}, BusPubSub,
			pubsub(n, k, "backoff"), pubsub(n/10, k, "backoff"))
		x.FullOnly = k > 16
		out = append(out, x)
	}
	out = append(out, e("bus.pubsub/4to1/backoff", []string{"nats.pubsub/4to1"}, BusFanIn,
		Params{N: 2_000_000, Pubs: 4, Idle: "backoff"}, Params{N: 200_000, Pubs: 4, Idle: "backoff"}))
	for _, size := range sweepPayloads {
		full := busPayloadN[size]
		out = append(out, e(fmt.Sprintf("bus.payload/%d", size),
			[]string{fmt.Sprintf("nats.payload/%d", size), fmt.Sprintf("uds.tput/%d", size)}, BusPayload, sz(full, size), sz(full/10, size)))
	}
	for _, t := range sweepTopics {
		full, quick := max(4_000_000, 2*t), max(400_000, t)
		name := fmt.Sprintf("bus.topics/%d", t)
		out = append(out, e(name, sweepRefs(name, fmt.Sprintf("nats.topics/%d", t), "bus.topics/1"), BusTopics,
			Params{N: full, Topics: t}, Params{N: quick, Topics: t}))
	}
	for _, k := range sweepWilds {
		name := fmt.Sprintf("bus.wildcards/%d", k)
		out = append(out, e(name, sweepRefs(name, fmt.Sprintf("nats.wildcards/%d", k), "bus.wildcards/1"), BusWildcards,
			Params{N: 5_000_000, Wild: k}, Params{N: 500_000, Wild: k}))
	}
	for _, c := range sweepIdle {
		refs := vsIdle
		if c == 0 {
			refs = vs1
		}
		out = append(out, e(fmt.Sprintf("bus.idle/%d", c), refs, BusIdle, conns(10_000_000, c), conns(1_000_000, c)))
	}

	// Queues (bus_queue.go): SendAsync to K consumer processes, every
	// message acked, vs the pub/sub 1 -> 1 rates; the variants vs
	// bus.queue/1c (sync: a confirm round trip per message, so fewer).
	// Priority: one-way latency of a priority-9 message through a queue
	// holding a backlog of 10,000 priority-0 messages, vs the same through
	// an empty queue.
	queue := func(n, k int, variant string) Params { return Params{N: n, Subs: k, Variant: variant} }
	for _, k := range sweepConsumers {
		out = append(out, e(fmt.Sprintf("bus.queue/%dc", k), vsQueue, BusQueue, queue(2_000_000, k, ""), queue(200_000, k, "")))
	}
	vsQueue1 := []string{"bus.queue/1c"}
	prio := func(n, backlog int) Params { return Params{N: n, Rate: DefaultQueuePrioRate, Backlog: backlog} }
	out = append(out,
		e("bus.queue/1c/sync", vsQueue1, BusQueue, queue(50_000, 1, "sync"), queue(5_000, 1, "sync")),
		e("bus.queue/1c/ttl", vsQueue1, BusQueue, queue(2_000_000, 1, "ttl"), queue(200_000, 1, "ttl")),
		e("bus.queue/1c/filter", vsQueue1, BusQueue, queue(2_000_000, 1, "filter"), queue(200_000, 1, "filter")),
		paced(e("bus.queue.prio/empty", none, BusQueuePrio, prio(10_000, 0), prio(1_000, 0))),
		paced(e("bus.queue.prio/backlog", []string{"bus.queue.prio/empty"}, BusQueuePrio,
			prio(10_000, DefaultQueueBacklog), prio(1_000, DefaultQueueBacklog))),
	)
	return out
}

// Options selects and sizes a suite run.
type Options struct {
	Quick   bool
	N       int           // if > 0, overrides every benchmark's count
	Only    []string      // names or name prefixes ("ring", "uds.tput"); empty = all
	Dir     string        // parent directory for shared files ("" = TempDir's choice)
	ProbeN  int           // round trips of each bracketing probe (0 = DefaultProbeN)
	Timeout time.Duration // bound on each benchmark (0 = 60 s)
	// Rate, if > 0, makes every paced entry send at this fixed rate
	// (msgs/s) instead of as fast as it can (or of its own rate).
	Rate int
	// PacedFor bounds how long a paced entry sends: its count is cut to
	// what its rate sends in that time, unless N is given (0: 10 s, or
	// 1 s with Quick).
	PacedFor time.Duration
	OnStart  func(i, total int, name string) // called before the i-th (from 0) of total benchmarks
	Progress func(*Result)                   // called after each
}

// Planned is one benchmark as a run will run it.
type Planned struct {
	Entry
	Params Params
}

// Plan returns the benchmarks o selects, in order, with the parameters
// they will run with.
func Plan(o Options) []Planned {
	pacedFor := o.PacedFor
	if pacedFor <= 0 {
		pacedFor = 10 * time.Second
		if o.Quick {
			pacedFor = time.Second
		}
	}
	var out []Planned
	for _, e := range Suite() {
		if !Selected(e.Name, o.Only) || o.Quick && e.FullOnly {
			continue
		}
		p := e.Full
		if o.Quick {
			p = e.Quick
		}
		if e.Paced && o.Rate > 0 {
			p.Rate = o.Rate
		}
		if o.N > 0 {
			p.N = o.N
		} else if p.Rate > 0 {
			p.N = max(1, min(p.N, int(float64(p.Rate)*pacedFor.Seconds())))
		}
		p.Dir, p.Timeout = o.Dir, o.Timeout
		out = append(out, Planned{Entry: e, Params: p})
	}
	return out
}

// Selected reports whether name is picked by only (empty = everything).
// An entry matches its full name or a prefix ending at '.' or '/'.
func Selected(name string, only []string) bool {
	if len(only) == 0 {
		return true
	}
	for _, o := range only {
		if o == name || strings.HasPrefix(name, o) && (strings.HasSuffix(o, ".") ||
			strings.HasSuffix(o, "/") || name[len(o)] == '.' || name[len(o)] == '/') {
			return true
		}
	}
	return false
}

// Run runs the selected benchmarks, each bracketed by the in-process probe,
// and fills in references and ratios. A failed benchmark gives a Result
// with Err set; the others still run.
func Run(o Options) []*Result {
	var out []*Result
	probeP := Params{N: o.ProbeN, Dir: o.Dir}
	plan := Plan(o)
	for i, e := range plan {
		if o.OnStart != nil {
			o.OnStart(i, len(plan), e.Name)
		}
		before, _ := Probe(probeP)
		r, err := e.Run(e.Params)
		after, _ := Probe(probeP)
		if err != nil {
			r = &Result{Name: e.Name, Err: err.Error()}
		}
		r.Name = e.Name
		if before != nil && after != nil {
			r.ProbeBefore, r.ProbeAfter = before.Lat, after.Lat
			r.Placement = placement(before.Lat.P50, after.Lat.P50)
		}
		r.Refs = e.Refs
		out = append(out, r)
		if o.Progress != nil {
			o.Progress(r)
		}
	}
	fillRatios(out)
	return out
}

func placement(before, after int64) string {
	near := func(ns int64) bool { return time.Duration(ns) < NearThreshold }
	switch {
	case singleCPU():
		return "1cpu" // nothing pinned: both sides share one CPU

	case near(before) && near(after):
		return "near"
	case !near(before) && !near(after):
		return "far"
	}
	return "mixed"
}

// fillRatios computes each result's ratio to its references. The reference
// "probe" is the mean p50 of the result's own bracketing probes; a
// reference that was not run (or failed) gets ratio 0.
func fillRatios(rs []*Result) {
	byName := map[string]*Result{}
	for _, r := range rs {
		byName[r.Name] = r
	}
	for _, r := range rs {
		if r.Err != "" || len(r.Refs) == 0 {
			continue
		}
		r.Ratios = make([]float64, len(r.Refs))
		for i, name := range r.Refs {
			switch ref := byName[name]; {
			case r.Lat != nil && name == "probe" && r.ProbeBefore != nil:
				if base := float64(r.ProbeBefore.P50+r.ProbeAfter.P50) / 2; base > 0 {
					r.Ratios[i] = float64(r.Lat.P50) / base
				}
			case ref == nil || ref.Err != "":
			case r.Lat != nil && ref.Lat != nil && ref.Lat.P50 > 0:
				r.Ratios[i] = float64(r.Lat.P50) / float64(ref.Lat.P50)
			case r.Lat == nil && ref.MsgsPerSec > 0:
				r.Ratios[i] = r.MsgsPerSec / ref.MsgsPerSec
			}
		}
	}
}
