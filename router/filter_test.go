package router

import (
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

// pubFull publishes with headers, a priority and a deadline.
func (c *rawClient) pubFull(topic string, h map[string][]string, prio uint8, deadline int64, data string) {
	c.seq++
	m := wire.Msg{ID: c.id<<40 | c.seq, PubTime: uint64(ipc.MonotonicNanos()), Deadline: uint64(deadline),
		Priority: prio, Topic: []byte(topic), Headers: wire.AppendHeaders(nil, h), Data: []byte(data)}
	b := make([]byte, m.Size())
	m.Encode(b)
	c.write(wire.TypePub, b)
}

func (c *rawClient) subSel(sid uint64, pattern, group, sel string) {
	s := wire.Sub{SID: sid, Pattern: []byte(pattern), Group: []byte(group), Selector: []byte(sel)}
	b := make([]byte, s.Size())
	s.Encode(b)
	c.write(wire.TypeSub, b)
}

func region(r string) map[string][]string { return map[string][]string{"region": {r}} }

func TestSubscriptionSelectors(t *testing.T) {
	r := startRouter(t)
	sub := dialRaw(t, r.Dir())
	sub.subSel(1, "orders.>", "", `region == "eu"`)
	sub.subSel(2, "orders.>", "", "")
	sub.subSel(3, "orders.>", "", `$priority >= 7 && exists(header("region"))`)
	sub.ping()
	pub := dialRaw(t, r.Dir())
	pub.pubFull("orders.new", region("eu"), 0, 0, "eu-low")
	pub.pubFull("orders.new", region("us"), 9, 0, "us-high")
	pub.pubFull("orders.new", nil, 9, 0, "none-high")
	pub.ping()
	want := map[uint64][]string{1: {"eu-low"}, 2: {"eu-low", "us-high", "none-high"}, 3: {"us-high"}}
	have := map[uint64][]string{}
	for _, m := range sub.ping() {
		if m.typ != wire.TypeMsg {
			t.Fatalf("unexpected record %+v", m)
		}
		have[m.sid] = append(have[m.sid], m.data)
	}
	for sid, w := range want {
		if len(have[sid]) != len(w) {
			t.Fatalf("sid %d got %v, want %v", sid, have[sid], w)
		}
		for i := range w {
			if have[sid][i] != w[i] {
				t.Fatalf("sid %d got %v, want %v", sid, have[sid], w)
			}
		}
	}
	snap := waitStats(t, r, func(s *Snapshot) bool {
		for _, c := range s.Clients {
			for _, ss := range c.Subs {
				if ss.SID == 1 && ss.Filtered == 2 {
					return true
				}
			}
		}
		return false
	})
	for _, c := range snap.Clients {
		for _, ss := range c.Subs {
			if ss.SID == 1 && ss.Selector != `region == "eu"` {
				t.Errorf("sub 1 selector in stats %q", ss.Selector)
			}
		}
	}
}

func TestGroupMembersWithSelectors(t *testing.T) {
	r := startRouter(t)
	eu, us := dialRaw(t, r.Dir()), dialRaw(t, r.Dir())
	eu.subSel(1, "jobs.*", "workers", `region == "eu"`)
	us.subSel(1, "jobs.*", "workers", `region == "us"`)
	eu.ping()
	us.ping()
	pub := dialRaw(t, r.Dir())
	for range 10 {
		pub.pubFull("jobs.x", region("eu"), 0, 0, "eu")
		pub.pubFull("jobs.x", region("us"), 0, 0, "us")
	}
	pub.pubFull("jobs.x", region("asia"), 0, 0, "asia") // no member takes it
	pub.ping()
	for name, c := range map[string]*rawClient{"eu": eu, "us": us} {
		ms := c.ping()
		if len(ms) != 10 {
			t.Fatalf("%s member got %d messages, want 10: %+v", name, len(ms), ms)
		}
		for _, m := range ms {
			if m.data != name {
				t.Fatalf("%s member got %q", name, m.data)
			}
		}
	}
	waitStats(t, r, func(s *Snapshot) bool { return s.NoSubscriber == 1 })
}

func TestBadSelectorRefused(t *testing.T) {
	r := startRouter(t)
	c := dialRaw(t, r.Dir())
	c.subSel(5, "a.>", "", `region ==`)
	ms := c.ping()
	if len(ms) != 1 || ms[0].typ != wire.TypeErr || ms[0].code != wire.CodeBadSub || ms[0].sid != 5 {
		t.Fatalf("bad selector: got %+v, want one CodeBadSub error on sid 5", ms)
	}
	t.Log(ms[0].data)
}

func TestExpiredPublishNotDelivered(t *testing.T) {
	r := startRouter(t)
	sub := dialRaw(t, r.Dir())
	sub.subSel(1, "t.>", "", "")
	sub.ping()
	pub := dialRaw(t, r.Dir())
	now := ipc.MonotonicNanos()
	pub.pubFull("t.a", nil, 0, now-1, "stale")
	pub.pubFull("t.a", nil, 0, now+int64(time.Hour), "fresh")
	pub.pubFull("t.a", nil, 0, 0, "forever")
	pub.ping()
	ms := sub.ping()
	if len(ms) != 2 || ms[0].data != "fresh" || ms[1].data != "forever" {
		t.Fatalf("got %+v, want fresh and forever", ms)
	}
	waitStats(t, r, func(s *Snapshot) bool {
		for _, c := range s.Clients {
			if c.ID == pub.id && c.Expired == 1 {
				return s.Expired == 1
			}
		}
		return false
	})
}

// waitStats polls the stats segment until ok accepts a snapshot.
func waitStats(t *testing.T, r *Router, ok func(*Snapshot) bool) *Snapshot {
	t.Helper()
	var last *Snapshot
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s, err := ReadStats(r.Dir())
		if err == nil {
			last = s
			if ok(s) {
				return s
			}
		}
	}
	t.Fatalf("stats never matched; last %+v", last)
	return nil
}

// The stats carry the router's own routing time once it has routed.
func TestRouteTimeInStats(t *testing.T) {
	r := startRouter(t)
	sub := dialRaw(t, r.Dir())
	sub.subSel(1, "t.>", "", "")
	sub.ping()
	pub := dialRaw(t, r.Dir())
	s := waitStats(t, r, func(s *Snapshot) bool {
		for range 200 {
			pub.pubFull("t.a", nil, 0, 0, "x")
		}
		pub.ping()
		sub.drain(0)
		return s.RouteTime.Samples > 0
	})
	rt := s.RouteTime
	if rt.P50 <= 0 || rt.P50 > rt.P99 || rt.P99 > rt.Max {
		t.Fatalf("route time percentiles out of order: %+v", rt)
	}
}
