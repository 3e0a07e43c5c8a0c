package bench

import (
	"sort"
	"strconv"
	"strings"
)

// Group is a set of results shown together, in one plot panel and one
// markdown table: shmbus next to the peers it is compared with.
type Group struct {
	Title   string
	Latency bool     // percentile curves (latency results), else bars (throughput)
	Members []string // names or prefixes, as -only takes them (Selected)
	// BySize orders the members by the number their name ends with
	// (payload size, topics, subscriptions), keeping run order within
	// one number, so each point of a sweep has its peers next to it.
	BySize bool
	// With are references shown next to the members (names or prefixes),
	// when at least one member is there: a group of their own holds them
	// too.
	With []string
}

// Groups are the panels of the plot and the tables of the markdown, in
// order. A result may be in more than one.
var Groups = []Group{
	{Title: "Cross-process round trip: rings and futexes vs the cache-line probe", Latency: true,
		Members: []string{"probe", "futex", "ring.pingpong"}},
	{Title: "Request/reply round trip, 64 B", Latency: true,
		Members: []string{"uds.pingpong", "tcp.pingpong", "nats.reqrep", "bus.reqrep"}},
	{Title: "One-way pub/sub latency at a fixed rate, 64 B", Latency: true,
		Members: []string{"nats.oneway", "bus.oneway"}},
	{Title: "Point to point, one way",
		Members: []string{"chan", "uds.tput/64", "uds.tput/1024", "tcp.tput", "ring.tput", "ring.inproc", "mpmc.inproc"}},
	{Title: "Pub/sub, 64 B: fan-out 1 -> K, fan-in P -> 1 (aggregate)",
		Members: []string{"nats.pubsub", "bus.pubsub"}},
	{Title: "Payload size, pub/sub 1 -> 1 (uds: point to point)", BySize: true,
		Members: []string{"uds.tput", "nats.payload", "bus.payload"}},
	{Title: "Distinct topics published round robin, 1 -> 1, one subscription on bench.t.>", BySize: true,
		Members: []string{"nats.topics", "bus.topics"}},
	{Title: "Wildcard subscriptions in the router, one match per message, 1 -> 1", BySize: true,
		Members: []string{"nats.wildcards", "bus.wildcards"}},
	{Title: "Idle connections attached to the router, 1 -> 1",
		Members: []string{"bus.idle"}},
	{Title: "Queues, 64 B: SendAsync (sync: Send) -> router -> K consumers, every message acked, vs pub/sub 1 -> 1",
		Members: []string{"bus.queue"}, With: []string{"nats.pubsub/1to1", "bus.pubsub/1to1/backoff"}},
	{Title: "Queue priority: a priority-9 message, send to consumer handler, one way at a fixed rate, 64 B", Latency: true,
		Members: []string{"bus.queue.prio"}},
}

// members returns the results of rs (failures left out) that belong to
// g and are of its kind, in g's order: its members, and the results With
// names in run order among them, or nothing when no member is there.
func (g Group) members(rs []*Result) []*Result {
	var out []*Result
	own := false
	for _, r := range rs {
		if r.Err != "" || (r.Lat != nil) != g.Latency {
			continue
		}
		if Selected(r.Name, g.Members) {
			out, own = append(out, r), true
		} else if len(g.With) > 0 && Selected(r.Name, g.With) {
			out = append(out, r)
		}
	}
	if !own {
		return nil
	}
	if g.BySize {
		sort.SliceStable(out, func(i, j int) bool { return sizeOf(out[i].Name) < sizeOf(out[j].Name) })
	}
	return out
}

// sizeOf is the number a name ends with ("bus.payload/1024": 1024), or 0.
func sizeOf(name string) int {
	n, _ := strconv.Atoi(name[strings.LastIndexByte(name, '/')+1:])
	return n
}

// ungrouped returns the results (failures left out) no group shows.
func ungrouped(rs []*Result) []*Result {
	var out []*Result
	for _, r := range rs {
		in := false
		for _, g := range Groups {
			in = in || (r.Lat != nil) == g.Latency && Selected(r.Name, g.Members)
		}
		if r.Err == "" && !in {
			out = append(out, r)
		}
	}
	return out
}

// isShmbus tells shmbus's own results (the rings, the bus) from the
// references they are measured against.
func isShmbus(name string) bool {
	for _, p := range []string{"bus.", "ring.", "mpmc."} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
