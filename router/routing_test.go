package router

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router/rules"
)

const testRules = `
[[rule]]
name = "legacy"
kind = "rename"
match = "legacy.*.orders.>"
to = "orders.$1.$2"

[[rule]]
kind = "set-header"
match = "orders.>"
header = "x-routed"
value = "yes"

[[rule]]
name = "audit"
kind = "route"
match = "orders.eu.>"
selector = 'amount > 1000'
topics = ["audit.orders"]

[[rule]]
name = "quarantine"
kind = "route"
match = "orders.*.bad"
mode = "move"
topics = ["quarantine.orders"]
`

func TestRoutingRules(t *testing.T) {
	r := startRouter(t)
	e, err := rules.Parse([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	r.SetRules(e)
	sub := dialRaw(t, r.Dir())
	sub.subSel(1, "orders.>", "", "")
	sub.subSel(2, "audit.>", "", "")
	sub.subSel(3, "quarantine.>", "", "")
	sub.subSel(4, "legacy.>", "", "")
	sub.ping()
	pub := dialRaw(t, r.Dir())
	pub.pubFull("legacy.eu.orders.new", map[string][]string{"amount": {"5000"}}, 0, 0, "big")
	pub.pubFull("orders.us.new", map[string][]string{"amount": {"5000"}}, 0, 0, "us")
	pub.pubFull("orders.eu.bad", nil, 0, 0, "bad")
	pub.ping()
	ms := sub.ping()
	type d struct {
		sid          uint64
		topic, data  string
		routedHeader bool
	}
	want := []d{
		{2, "audit.orders", "big", true}, // the copy first
		{1, "orders.eu.new", "big", true},
		{1, "orders.us.new", "us", true},
		{3, "quarantine.orders", "bad", true}, // moved: sub 1 does not get it
	}
	if len(ms) != len(want) {
		t.Fatalf("got %d deliveries, want %d: %+v", len(ms), len(want), ms)
	}
	for i, w := range want {
		m := ms[i]
		if m.sid != w.sid || m.topic != w.topic || m.data != w.data || (m.headers["x-routed"] != nil) != w.routedHeader {
			t.Errorf("delivery %d: %+v, want %+v", i, m, w)
		}
	}
}

func TestLoadRulesKeepsOldOnError(t *testing.T) {
	r := startRouter(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte(testRules), 0o600)
	os.WriteFile(bad, []byte("[[rule]]\nkind = \"rename\"\nmatch = \"a.*\"\nto = \"b.$2\"\n"), 0o600)
	if err := r.LoadRules(good); err != nil {
		t.Fatal(err)
	}
	before := r.Rules()
	err := r.LoadRules(bad)
	var re *rules.RuleError
	if !errors.Is(err, rules.ErrInvalidRules) || !errors.As(err, &re) || re.Field != "to" {
		t.Fatalf("bad file: %v, want a RuleError on field to", err)
	}
	if r.Rules() != before {
		t.Fatal("a bad file replaced the rules in force")
	}
	// The rules in force still work.
	sub := dialRaw(t, r.Dir())
	sub.subSel(1, "orders.>", "", "")
	sub.ping()
	pub := dialRaw(t, r.Dir())
	pub.pubFull("legacy.eu.orders.x", nil, 0, 0, "x")
	pub.ping()
	if ms := sub.ping(); len(ms) != 1 || ms[0].topic != "orders.eu.x" {
		t.Fatalf("after a refused reload: %+v", ms)
	}
	if _, err := New(Config{Dir: t.TempDir(), RulesFile: bad}); !errors.Is(err, rules.ErrInvalidRules) {
		t.Fatalf("New with a bad rules file: %v", err)
	}
}

// A rewritten message stalled by a block-policy subscriber is delivered
// rewritten when the subscriber makes room.
func TestRulesRewriteSurvivesStall(t *testing.T) {
	r := startRouter(t)
	e, err := rules.Parse([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	r.SetRules(e)
	sub := dialRaw(t, r.Dir())
	s := wire.Sub{SID: 1, Pattern: []byte("orders.>"), Policy: wire.PolicyBlock, BlockTimeout: uint64(20 * time.Second)}
	b := make([]byte, s.Size())
	s.Encode(b)
	sub.write(wire.TypeSub, b)
	sub.ping()
	pub := dialRaw(t, r.Dir())
	big := string(make([]byte, 4<<10))
	n := 0
	for ; n < 24; n++ { // more than the 64 KiB out ring holds, less than out and in together
		pub.pubFull("legacy.eu.orders.n", nil, 0, 0, big)
	}
	var got []got
	for deadline := time.Now().Add(10 * time.Second); len(got) < n && time.Now().Before(deadline); {
		got = append(got, sub.drain(20*time.Millisecond)...)
	}
	if len(got) != n {
		t.Fatalf("got %d of %d", len(got), n)
	}
	for i, m := range got {
		if m.topic != "orders.eu.n" || m.headers["x-routed"] == nil {
			t.Fatalf("delivery %d not rewritten: topic %q headers %v", i, m.topic, m.headers)
		}
	}
}

// A route rule's queue target gets a copy, as a binding would; a target
// queue that does not exist counts the action as skipped.
func TestRulesRouteToQueue(t *testing.T) {
	r := startRouter(t)
	e, err := rules.Parse([]byte(`
[[rule]]
kind = "route"
match = "orders.>"
selector = 'amount > 1000'
queues = ["audit.review", "audit.missing"]
`))
	if err != nil {
		t.Fatal(err)
	}
	r.SetRules(e)
	c := dialRaw(t, r.Dir())
	c.declare("audit.review", wire.QueueConfig{})
	c.pubFull("orders.eu.new", map[string][]string{"amount": {"5000"}}, 7, 0, "big")
	c.pubFull("orders.eu.new", map[string][]string{"amount": {"5"}}, 0, 0, "small")
	c.ping()
	info, _ := c.info("audit.review")
	if info.Depth != 1 {
		t.Fatalf("audit.review depth %d, want 1 (the big order only)", info.Depth)
	}
	c.consume(9, "audit.review", 1, "")
	ds, _ := c.collect(1, isDelivery)
	if len(ds) != 1 || ds[0].data != "big" || ds[0].topic != "orders.eu.new" {
		t.Fatalf("delivery from the rule's queue: %+v", ds)
	}
	waitStats(t, r, func(s *Snapshot) bool { return s.RulesMatched == 1 && s.RulesSkipped == 1 })
}
