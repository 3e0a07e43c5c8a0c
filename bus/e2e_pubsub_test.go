package bus

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shmbus/shmbus/router"
)

// Routing across processes: one router process, publishers and
// subscribers each in a process of its own.

// Every subscriber process gets exactly the topics its patterns match, each
// as many times as it was published, and nothing else.
func TestE2EWildcards(t *testing.T) {
	b := newE2EBus(t)
	topics := []string{"w", "w.a", "w.b", "w.a.b", "w.a.b.c", "x.a", "x.a.b", "y"}
	table := []struct {
		pattern string
		want    []string
	}{
		{"w", []string{"w"}},
		{"w.*", []string{"w.a", "w.b"}},
		{"w.>", []string{"w.a", "w.b", "w.a.b", "w.a.b.c"}},
		{"*.a", []string{"w.a", "x.a"}},
		{"w.*.b", []string{"w.a.b"}},
		{"*.*.*", []string{"w.a.b", "x.a.b"}},
		{"w.a.*.c", []string{"w.a.b.c"}},
		{">", topics},
		{"x.>", []string{"x.a", "x.a.b"}},
		{"*", []string{"w", "y"}},
		{"*.a.>", []string{"w.a.b", "w.a.b.c", "x.a.b"}},
		{"nothing.>", nil},
	}
	for _, row := range table { // the table itself is right
		for _, topic := range topics {
			if router.Matches(row.pattern, topic) != slices.Contains(row.want, topic) {
				t.Fatalf("table: %q vs %q disagrees with router.Matches", row.pattern, topic)
			}
		}
	}
	const procs, k = 3, 3 // subscriber processes; times each topic is published
	var subs []*e2eClient
	for p := range procs {
		var specs []e2eSubSpec
		for i := p; i < len(table); i += procs {
			specs = append(specs, e2eSubSpec{Pattern: table[i].pattern, Block: waitLimit})
		}
		subs = append(subs, b.sub(fmt.Sprintf("sub-%d", p), specs...))
	}
	pub := b.start("pub", "publish", e2eArgs{Pub: 1, Topics: topics, N: k * len(topics), Filler: 16})
	last := pub.done()
	for p, s := range subs {
		r := s.finish()
		for j, i := 0, p; i < len(table); j, i = j+1, i+procs {
			want := map[string]int{}
			for _, topic := range table[i].want {
				want[topic] = k
			}
			if got := r.Subs[j].Topics; !maps.Equal(got, want) {
				t.Errorf("%s: pattern %q got topics %v, want %v", s.name, table[i].pattern, got, want)
			}
			if bad := e2eCheckIncreasing(r.seqs(j, 1)); bad != "" {
				t.Errorf("%s: pattern %q: %s", s.name, table[i].pattern, bad)
			}
		}
	}
	if last != uint64(k*len(topics)) {
		t.Fatalf("publisher published %d, want %d", last, k*len(topics))
	}
	b.stopRouter()
}

// Six subscriber processes, two publisher processes publishing at once:
// every subscription gets each publisher's messages complete, in order,
// once. Half the subscribers have a second, overlapping subscription,
// which gets its own complete copy (one message, two deliveries with the
// same ID to one connection).
func TestE2EFanOutOrderPerPublisher(t *testing.T) {
	b := newE2EBus(t)
	nsubs, n := e2eScale(6, 3), e2eScale(20000, 1500)
	var subs []*e2eClient
	for i := range nsubs {
		specs := []e2eSubSpec{{Pattern: "fan.>", Block: waitLimit}}
		if i%2 == 1 {
			specs = append(specs, e2eSubSpec{Pattern: "fan.*", Block: waitLimit})
		}
		subs = append(subs, b.sub(fmt.Sprintf("sub-%d", i), specs...))
	}
	var pubs []*e2eClient
	for p := 1; p <= 2; p++ {
		pubs = append(pubs, b.start(fmt.Sprintf("pub-%d", p), "publish",
			e2eArgs{Pub: p, Topics: []string{fmt.Sprintf("fan.p%d", p), fmt.Sprintf("fan.p%d.x", p)}, N: n, Filler: 100}))
	}
	for _, p := range pubs {
		if last := p.done(); last != uint64(n) {
			t.Fatalf("%s published %d, want %d", p.name, last, n)
		}
	}
	for i, s := range subs {
		r := s.finish()
		for p := 1; p <= 2; p++ {
			e2eExpectRun(t, fmt.Sprintf("%s fan.> from pub-%d", s.name, p), r.seqs(0, p), 1, uint64(n))
			if i%2 == 1 { // fan.* matches only the fan.pN topics: the odd sequences
				var odd []uint64
				for q := uint64(1); q <= uint64(n); q += 2 {
					odd = append(odd, q)
				}
				if got := r.seqs(1, p); !slices.Equal(got, odd) {
					t.Errorf("%s fan.* from pub-%d: %d messages, want the %d odd ones; %s", s.name, p, len(got), len(odd), e2eCheckIncreasing(got))
				}
			}
		}
		t.Logf("%s: %d records, stats %+v", s.name, len(r.recs), r.Stats)
		if r.Stats.Dropped != 0 || r.Stats.Duplicates != 0 {
			t.Errorf("%s: stats %+v", s.name, r.Stats)
		}
	}
	b.stopRouter()
}

// A queue group spread over three processes: each message goes to exactly
// one member; a plain subscriber alongside gets every message.
func TestE2EQueueGroupExactlyOnce(t *testing.T) {
	b := newE2EBus(t)
	n := e2eScale(20000, 1000)
	var members []*e2eClient
	for i := range 3 {
		members = append(members, b.sub(fmt.Sprintf("member-%d", i), e2eSubSpec{Pattern: "jobs.*", Queue: "workers", Block: waitLimit}))
	}
	plain := b.sub("plain", e2eSubSpec{Pattern: "jobs.>", Block: waitLimit})
	pub := b.start("pub", "publish", e2eArgs{Pub: 1, Topics: []string{"jobs.a", "jobs.b"}, N: n, Filler: 40})
	if last := pub.done(); last != uint64(n) {
		t.Fatalf("published %d, want %d", last, n)
	}
	var all []uint64
	for _, m := range members {
		got := m.finish().seqs(0, 1)
		if bad := e2eCheckIncreasing(got); bad != "" {
			t.Errorf("%s: %s", m.name, bad)
		}
		if len(got) == 0 {
			t.Errorf("%s got nothing", m.name)
		}
		t.Logf("%s got %d", m.name, len(got))
		all = append(all, got...)
	}
	slices.Sort(all)
	e2eExpectRun(t, "the group's members together", all, 1, uint64(n))
	e2eExpectRun(t, "the plain subscriber", plain.finish().seqs(0, 1), 1, uint64(n))
	b.stopRouter()
}

// Requests from this process to responder processes (a queue group of two
// and a plain one), answered across three processes; a request nobody
// subscribes to fails at once with ErrNoResponders.
func TestE2ERequestReply(t *testing.T) {
	b := newE2EBus(t)
	var echo []*e2eClient
	for i := range 2 {
		echo = append(echo, b.sub(fmt.Sprintf("echo-%d", i), e2eSubSpec{Pattern: "svc.echo", Queue: "echo", Respond: true}))
	}
	one := b.sub("one", e2eSubSpec{Pattern: "svc.*.one", Respond: true})

	const clients = 4
	n := e2eScale(1000, 60) // requests per client
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for g := 1; g <= clients; g++ {
		// One Conn per goroutine, requesting in sequence, so that each
		// request's Msg.ID sequence is its payload's (the responders check).
		c := connect(t, b.dir, WithName(fmt.Sprintf("requester-%d", g)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, e2eHeaderLen+64)
			for i := 1; i <= n; i++ {
				p := e2ePayload(buf, g, uint64(i), 64)
				r, err := c.Request("svc.echo", p, waitLimit)
				if err != nil {
					errs <- fmt.Errorf("requester %d, request %d: %w", g, i, err)
					return
				}
				if !bytes.Equal(r.Data, p) {
					errs <- fmt.Errorf("requester %d, request %d: answer %x, want %x", g, i, r.Data, p)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	c := connect(t, b.dir, WithName("requester-0"))
	p := e2ePayload(make([]byte, e2eHeaderLen), 0, 1, 0)
	if r, err := c.Request("svc.x.one", p, waitLimit); err != nil || !bytes.Equal(r.Data, p) {
		t.Fatalf("plain responder: %v, %v", r, err)
	}
	start := time.Now()
	if _, err := c.Request("svc.none", nil, waitLimit); !errors.Is(err, ErrNoResponders) {
		t.Fatalf("request to no one: %v, want ErrNoResponders", err)
	}
	t.Logf("no responders answered in %v", time.Since(start))

	reps := []*e2eReport{echo[0].finish(), echo[1].finish()}
	for g := 1; g <= clients; g++ {
		var all []uint64
		for i, r := range reps {
			got := r.seqs(0, g)
			if bad := e2eCheckIncreasing(got); bad != "" {
				t.Errorf("echo-%d from requester %d: %s", i, g, bad)
			}
			all = append(all, got...)
		}
		slices.Sort(all)
		e2eExpectRun(t, fmt.Sprintf("requests of requester %d, both responders together", g), all, 1, uint64(n))
	}
	if got := one.finish().seqs(0, 0); len(got) != 1 {
		t.Fatalf("plain responder got %v", got)
	}
	b.stopRouter()
}
