package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The queue benchmarks with tiny counts: every process starts, every
// message is acked exactly once, the result is well formed. Timing is
// never asserted.

func TestBusQueue(t *testing.T) {
	for _, c := range []struct {
		k       int
		variant string
	}{{1, ""}, {2, ""}, {4, ""}, {1, "sync"}, {1, "ttl"}, {1, "filter"}} {
		name := fmt.Sprintf("bus.queue/%dc", c.k)
		if c.variant != "" {
			name += "/" + c.variant
		}
		t.Run(name, func(t *testing.T) {
			p := brokerParams(1000)
			if c.variant == "sync" {
				p.N = small(200) // a confirm round trip each
			}
			p.Subs, p.Variant = c.k, c.variant
			if c.k > 1 {
				p.N++ // a count the consumers cannot share evenly, not a multiple of 64
			}
			r, err := BusQueue(p)
			checkDelivered(t, r, err, p.N)
			if r.Name != name {
				t.Errorf("name %q, want %q", r.Name, name)
			}
			if r.RouterNsPerMsg <= 0 || r.SyscallsPerOp < 0 {
				t.Errorf("router CPU time (%.0f ns/msg) or futex calls (%.3f) not counted", r.RouterNsPerMsg, r.SyscallsPerOp)
			}
		})
	}
	for _, p := range []Params{{N: 10, Variant: "nope"}, {N: 10, Subs: maxQueueConsumers + 1}, {N: 10, Size: 4}} {
		if _, err := BusQueue(p); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
}

// A small prefetch and a small queue: the consumers hold the router back,
// the full queue holds the sender back (overflow block), and still every
// message is acked once.
func TestBusQueueBackpressure(t *testing.T) {
	p := brokerParams(500)
	p.Subs, p.Prefetch, p.QueueMax = 2, 2, 50
	r, err := BusQueue(p)
	checkDelivered(t, r, err, p.N)
}

func TestBusQueuePrio(t *testing.T) {
	for _, backlog := range []int{0, 500} {
		p := brokerParams(50)
		p.Rate, p.Backlog = 2000, backlog
		r, err := BusQueuePrio(p)
		checkLatency(t, r, err, p.N)
		want := "bus.queue.prio/empty"
		if backlog > 0 {
			want = "bus.queue.prio/backlog"
		}
		if r.Name != want || r.Rate != 2000 || r.Size != 64 {
			t.Errorf("%s: rate %d, size %d; want %s", r.Name, r.Rate, r.Size, want)
		}
	}
	if _, err := BusQueuePrio(Params{N: 10, Size: 16}); err == nil {
		t.Error("16-byte messages accepted: no room for the stamp")
	}
}

func TestCheckAckedOnce(t *testing.T) {
	dir := t.TempDir()
	write := func(i int, words ...uint64) {
		b := make([]byte, 8*len(words))
		for j, x := range words {
			for k := range 8 {
				b[8*j+k] = byte(x >> (8 * k))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("acked-%d", i)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reps := []*childReport{{Count: 52}, {Count: 18}}
	write(0, 0xffff_ffff_ffff_0000, 0x0f)
	write(1, 0xffff, 0x30)
	for _, c := range []struct {
		n    int
		reps []*childReport
		want string
	}{
		{70, reps, ""},
		{71, reps, "message 70 never acked"},
		{70, []*childReport{{Count: 52}, {Count: 19}}, "its bitmap holds 18"},
	} {
		err := checkAckedOnce(dir, c.reps, c.n)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("n=%d: %v, want %q", c.n, err, c.want)
		}
	}
	write(1, 0x1_ffff, 0x30)
	if err := checkAckedOnce(dir, []*childReport{{Count: 52}, {Count: 19}}, 70); err == nil || !strings.Contains(err.Error(), "message 16 acked by two") {
		t.Errorf("duplicate: %v", err)
	}
}

// The queue throughput group shows its references next to the queue
// results, and the queue groups stay out of the plot and the markdown when
// no queue result is there.
func TestQueueGroups(t *testing.T) {
	tput := func(name string, rate float64) *Result {
		return throughputResult(name, 1000, 64, time.Duration(1e12/rate))
	}
	h := NewHist()
	h.Record(1000)
	refs := []*Result{tput("nats.pubsub/1to1", 2e6), tput("bus.pubsub/1to1/backoff", 5e6), latencyResult("bus.oneway/backoff", h)}
	queues := []*Result{tput("bus.queue/1c", 1e6), tput("bus.queue/1c/ttl", 0.9e6), latencyResult("bus.queue.prio/empty", h)}
	var queue, prio Group
	for _, g := range Groups {
		switch {
		case slices.Contains(g.Members, "bus.queue"):
			queue = g
		case slices.Contains(g.Members, "bus.queue.prio"):
			prio = g
		}
	}
	names := func(rs []*Result) (out []string) {
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	all := append(slices.Clone(refs), queues...)
	if got, want := names(queue.members(all)), []string{"nats.pubsub/1to1", "bus.pubsub/1to1/backoff", "bus.queue/1c", "bus.queue/1c/ttl"}; !slices.Equal(got, want) {
		t.Errorf("queue panel %q, want %q", got, want)
	}
	if got, want := names(prio.members(all)), []string{"bus.queue.prio/empty"}; !slices.Equal(got, want) {
		t.Errorf("priority panel %q, want %q", got, want)
	}
	if got := append(queue.members(refs), prio.members(refs)...); len(got) != 0 {
		t.Errorf("queue panels without queue results: %q", names(got))
	}
	if odd := ungrouped(all); len(odd) > 0 {
		t.Errorf("not in any group: %q", names(odd))
	}
}
