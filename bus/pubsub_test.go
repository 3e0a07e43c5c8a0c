package bus

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
)

func TestPublishSubscribeInOrder(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	sub, pub := connect(t, dir), connect(t, dir)
	var got collector
	if _, err := sub.Subscribe("orders.created", got.handler); err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil { // the subscription is registered
		t.Fatal(err)
	}
	const n = 2000
	for i := range n {
		if err := pub.Publish("orders.created", []byte(strconv.Itoa(i))); err != nil {
			t.Fatal(err)
		}
	}
	data := got.wait(t, n)
	for i, d := range data {
		if d != strconv.Itoa(i) {
			t.Fatalf("message %d is %q: out of order", i, d)
		}
	}
	got.mu.Lock()
	m := got.msgs[0]
	got.mu.Unlock()
	if m.Topic != "orders.created" || m.ID>>40 != pub.ConnID() || m.PubTime <= 0 || m.Latency() < 0 {
		t.Fatalf("message fields: %+v", m)
	}
	if st := pub.Stats(); st.OutMsgs != n {
		t.Fatalf("publisher stats %+v", st)
	}
	waitFor(t, "in stats", func() bool { return sub.Stats().InMsgs == n })
}

// A subscription travels in the same ring as publishes: a Subscribe and a
// Publish right after it, on one Conn, with no Flush between, deliver.
func TestSubscribeThenPublishSameRing(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	for i := range 50 {
		topic := fmt.Sprintf("t.%d", i)
		s, err := c.SubscribeSync(topic)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Publish(topic, []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.NextMsg(waitLimit); err != nil {
			t.Fatalf("subscription %d: %v", i, err)
		}
	}
}

func TestChanSubscribe(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	ch := make(chan *Msg, 16)
	if _, err := c.ChanSubscribe("c.*", ch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ChanSubscribe("c.*", nil); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("nil channel: %v", err)
	}
	c.Publish("c.1", []byte("one"))
	c.Publish("c.2", []byte("two"))
	for _, want := range []string{"c.1/one", "c.2/two"} {
		m := <-ch
		if got := m.Topic + "/" + string(m.Data); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
}

func TestQueueSubscribe(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c1, c2, pub := connect(t, dir), connect(t, dir), connect(t, dir)
	var a, b collector
	if _, err := c1.QueueSubscribe("jobs.>", "workers", a.handler); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.QueueSubscribe("jobs.>", "workers", b.handler); err != nil {
		t.Fatal(err)
	}
	if _, err := c2.QueueSubscribe("jobs.>", "", b.handler); !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("empty queue: %v", err)
	}
	c1.Flush()
	c2.Flush()
	const n = 100
	for i := range n {
		pub.Publish("jobs.x", []byte(strconv.Itoa(i)))
	}
	waitFor(t, "all jobs", func() bool { return a.len()+b.len() == n })
	all := append(a.data(), b.data()...)
	slices.SortFunc(all, func(x, y string) int { xi, _ := strconv.Atoi(x); yi, _ := strconv.Atoi(y); return xi - yi })
	for i, d := range all {
		if d != strconv.Itoa(i) {
			t.Fatalf("job %d delivered as %q: each job must reach one worker once", i, d)
		}
	}
	if a.len() == 0 || b.len() == 0 {
		t.Fatalf("one worker got everything: %d and %d", a.len(), b.len())
	}
}

func TestWildcards(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	subs := map[string]*Subscription{}
	for _, p := range []string{"a.*", "a.>", "a.b", "*.b", ">"} {
		s, err := c.SubscribeSync(p)
		if err != nil {
			t.Fatal(err)
		}
		subs[p] = s
	}
	for _, topic := range []string{"a.b", "a.c", "a.b.c", "x.b", "a"} {
		c.Publish(topic, []byte(topic))
	}
	c.Flush()
	want := map[string][]string{
		"a.*": {"a.b", "a.c"},
		"a.>": {"a.b", "a.c", "a.b.c"},
		"a.b": {"a.b"},
		"*.b": {"a.b", "x.b"},
		">":   {"a.b", "a.c", "a.b.c", "x.b", "a"},
	}
	for p, topics := range want {
		for _, topic := range topics {
			m, err := subs[p].NextMsg(waitLimit)
			if err != nil || m.Topic != topic {
				t.Fatalf("%s: got %v (%v), want %s", p, m, err, topic)
			}
		}
		if n := subs[p].Pending(); n != 0 {
			t.Fatalf("%s: %d extra messages", p, n)
		}
	}
}

func TestHeaders(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	s, _ := c.SubscribeSync("h")
	hdr := Header{}
	hdr.Set("Trace", "abc")
	hdr.Add("Tag", "x")
	hdr.Add("Tag", "y")
	if err := c.PublishMsg(&Msg{Topic: "h", Header: hdr, Data: []byte("d")}); err != nil {
		t.Fatal(err)
	}
	m, err := s.NextMsg(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Trace") != "abc" || !slices.Equal(m.Header.Values("Tag"), []string{"x", "y"}) || m.Header.Get("None") != "" {
		t.Fatalf("headers %v", m.Header)
	}
	if err := c.PublishMsg(&Msg{Topic: "h", Header: Header{"": {"v"}}}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("empty header key: %v", err)
	}
}
