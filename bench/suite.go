package bench

import (
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
}

// Suite lists the benchmarks in the order they run: references first.
func Suite() []Entry {
	e := func(name string, refs []string, run func(Params) (*Result, error), full, quick Params) Entry {
		return Entry{Name: name, Refs: refs, Run: run, Full: full, Quick: quick}
	}
	sz := func(n, size int) Params { return Params{N: n, Size: size} }
	idle := func(n int, idle string) Params { return Params{N: n, Idle: idle} }
	none := []string(nil)
	subs := func(n, k int) Params { return Params{N: n, Subs: k} }
	reqrep := func(n, procs int, idle string) Params { return Params{N: n, Procs: procs, Idle: idle} }
	pubsub := func(n, k int, idle string) Params { return Params{N: n, Subs: k, Idle: idle} }
	conns := func(n, c int) Params { return Params{N: n, Conns: c} }
	vsReq := []string{"nats.reqrep", "uds.pingpong"}
	vs1, vs4, vsIdle := []string{"nats.pubsub/1to1"}, []string{"nats.pubsub/1to4"}, []string{"bus.idle/0"}
	return []Entry{
		e("probe", none, Probe, sz(1_000_000, 0), sz(100_000, 0)),
		e("probe.proc", []string{"probe"}, ProbeProcess, sz(1_000_000, 0), sz(100_000, 0)),
		e("chan.tput/64", none, ChanThroughput, sz(50_000_000, 64), sz(5_000_000, 64)),
		e("chan.tput/1024", none, ChanThroughput, sz(10_000_000, 1024), sz(1_000_000, 1024)),
		e("uds.tput/64", none, UDSThroughput, sz(50_000_000, 64), sz(5_000_000, 64)),
		e("uds.tput/1024", none, UDSThroughput, sz(10_000_000, 1024), sz(1_000_000, 1024)),
		e("uds.pingpong", none, UDSPingPong, sz(200_000, 64), sz(20_000, 64)),
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
		e("nats.reqrep", none, NATSReqRep, sz(20_000, 64), sz(2_000, 64)),
		e("nats.pubsub/1to1", none, NATSPubSub, subs(2_000_000, 1), subs(200_000, 1)),
		e("nats.pubsub/1to4", none, NATSPubSub, subs(1_000_000, 4), subs(100_000, 4)),
		// bus.*/spin: a spinning router and spinning clients are three or
		// four spinners on a 2-vCPU host (round trips of milliseconds), so
		// their counts are small.
		e("bus.reqrep/2proc/spin", vsReq, BusReqRep, reqrep(500, 2, "spin"), reqrep(100, 2, "spin")),
		e("bus.reqrep/2proc/backoff", vsReq, BusReqRep, reqrep(100_000, 2, "backoff"), reqrep(10_000, 2, "backoff")),
		e("bus.reqrep/2proc/yield", vsReq, BusReqRep, reqrep(200_000, 2, "yield"), reqrep(20_000, 2, "yield")),
		e("bus.reqrep/3proc/spin", vsReq, BusReqRep, reqrep(1_500, 3, "spin"), reqrep(300, 3, "spin")),
		e("bus.reqrep/3proc/backoff", vsReq, BusReqRep, reqrep(100_000, 3, "backoff"), reqrep(10_000, 3, "backoff")),
		e("bus.reqrep/3proc/yield", vsReq, BusReqRep, reqrep(200_000, 3, "yield"), reqrep(20_000, 3, "yield")),
		e("bus.pubsub/1to1/spin", vs1, BusPubSub, pubsub(2_000_000, 1, "spin"), pubsub(300_000, 1, "spin")),
		e("bus.pubsub/1to1/backoff", vs1, BusPubSub, pubsub(10_000_000, 1, "backoff"), pubsub(1_000_000, 1, "backoff")),
		e("bus.pubsub/1to1/yield", vs1, BusPubSub, pubsub(10_000_000, 1, "yield"), pubsub(1_000_000, 1, "yield")),
		e("bus.pubsub/1to4/spin", vs4, BusPubSub, pubsub(1_000_000, 4, "spin"), pubsub(100_000, 4, "spin")),
		e("bus.pubsub/1to4/backoff", vs4, BusPubSub, pubsub(5_000_000, 4, "backoff"), pubsub(500_000, 4, "backoff")),
		e("bus.idle/0", vs1, BusIdle, conns(10_000_000, 0), conns(1_000_000, 0)),
		e("bus.idle/10", vsIdle, BusIdle, conns(10_000_000, 10), conns(1_000_000, 10)),
		e("bus.idle/100", vsIdle, BusIdle, conns(10_000_000, 100), conns(1_000_000, 100)),
	}
}

// Options selects and sizes a suite run.
type Options struct {
	Quick    bool
	N        int           // if > 0, overrides every benchmark's count
	Only     []string      // names or name prefixes ("ring", "uds.tput"); empty = all
	Dir      string        // parent directory for shared files ("" = TempDir's choice)
	ProbeN   int           // round trips of each bracketing probe (0 = DefaultProbeN)
	Timeout  time.Duration // bound on each benchmark (0 = 60 s)
	Progress func(*Result)
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
	for _, e := range Suite() {
		if !Selected(e.Name, o.Only) {
			continue
		}
		p := e.Full
		if o.Quick {
			p = e.Quick
		}
		if o.N > 0 {
			p.N = o.N
		}
		p.Dir, p.Timeout = o.Dir, o.Timeout
		before, _ := Probe(probeP)
		r, err := e.Run(p)
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
