package bus

import (
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The queue API against the real router, in process.

func TestRouterQueueSendConsumeAck(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	c := connect(t, dir)
	info, err := c.DeclareQueue("jobs", QueueConfig{MaxMsgs: 100})
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxBytes != 64<<20 || info.Config.AckTimeout != 30*time.Second || info.Config.Overflow != OverflowReject {
		t.Fatalf("defaults not filled in: %+v", info.Config)
	}
	if _, err := c.DeclareQueue("jobs", QueueConfig{MaxMsgs: 100}); err != nil {
		t.Fatalf("redeclare: %v", err)
	}
	if _, err := c.DeclareQueue("jobs", QueueConfig{MaxMsgs: 101}); !errors.Is(err, ErrQueueConflict) {
		t.Fatalf("conflicting redeclare: %v", err)
	}
	for i, p := range []int{0, 9, 4} {
		if err := c.SendMsg(&Msg{Topic: "jobs", Data: []byte(strconv.Itoa(i)), Priority: Prio(p), Header: Header{"i": {strconv.Itoa(i)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Send("nope", nil); !errors.Is(err, ErrQueueNotFound) {
		t.Fatalf("send to no queue: %v", err)
	}
	var got consumed
	sub, err := c.Consume("jobs", func(m *Msg) {
		got.add(m)
		if err := m.Ack(); err != nil {
			t.Error(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, m := range got.wait(t, 3) {
		order = append(order, string(m.Data))
		if m.Deliveries != 1 || !m.IsQueued() || m.Header.Get("i") != string(m.Data) {
			t.Errorf("delivery %+v", m)
		}
	}
	if !slices.Equal(order, []string{"1", "2", "0"}) {
		t.Errorf("priority order: %v", order)
	}
	c.Flush()
	info, err = c.QueueInfo("jobs")
	if err != nil || info.Depth != 0 || info.Acked != 3 || info.Enqueued != 3 || info.Consumers != 1 {
		t.Fatalf("info after acks: %+v %v", info, err)
	}
	if _, err := c.Consume("missing", func(*Msg) {}); !errors.Is(err, ErrQueueNotFound) {
		t.Fatalf("consume of no queue: %v", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
}

// Two consumers on two connections share a queue: every message is
// delivered exactly once.
func TestRouterQueueTwoConsumersExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	prod := connect(t, dir)
	if _, err := prod.DeclareQueue("work", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	n := 2000
	if raceEnabled {
		n = 500
	}
	var mu sync.Mutex
	seen := map[string]int{}
	perConsumer := [2]int{}
	for i := range 2 {
		c := connect(t, dir)
		if _, err := c.Consume("work", func(m *Msg) {
			mu.Lock()
			seen[string(m.Data)]++
			perConsumer[i]++
			mu.Unlock()
			m.Ack()
		}, Prefetch(8)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var sendErr error
	done := func(err error) {
		if err != nil {
			mu.Lock()
			sendErr = err
			mu.Unlock()
		}
		wg.Done()
	}
	for i := range n {
		wg.Add(1)
		if err := prod.SendAsync(&Msg{Topic: "work", Data: []byte(strconv.Itoa(i))}, done); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if sendErr != nil {
		t.Fatal(sendErr)
	}
	waitFor(t, "every message", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == n
	})
	waitFor(t, "the acks", func() bool {
		info, err := prod.QueueInfo("work")
		return err == nil && info.Acked == uint64(n)
	})
	mu.Lock()
	defer mu.Unlock()
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("message %s delivered %d times", k, v)
		}
	}
	if perConsumer[0] == 0 || perConsumer[1] == 0 {
		t.Errorf("one consumer got nothing: %v", perConsumer)
	}
}

// A delivery left unsettled when its consumer's connection closes goes to
// another consumer, as its second delivery.
func TestRouterQueueRedeliveryAfterClose(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	a, b := connect(t, dir), connect(t, dir)
	if _, err := a.DeclareQueue("q", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	sa, err := a.ConsumeSync("q", Prefetch(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send("q", []byte("once more")); err != nil {
		t.Fatal(err)
	}
	m, err := sa.NextMsg(waitLimit)
	if err != nil || m.Deliveries != 1 {
		t.Fatalf("first delivery: %v %v", m, err)
	}
	sb, err := b.ConsumeSync("q")
	if err != nil {
		t.Fatal(err)
	}
	a.Close() // without settling
	m, err = sb.NextMsg(waitLimit)
	if err != nil || m.Deliveries != 2 || string(m.Data) != "once more" {
		t.Fatalf("redelivery: %+v %v", m, err)
	}
	if err := m.Nak(0); err != nil {
		t.Fatal(err)
	}
	m, err = sb.NextMsg(waitLimit)
	if err != nil || m.Deliveries != 3 {
		t.Fatalf("after Nak: %+v %v", m, err)
	}
	if err := m.Term(); err != nil {
		t.Fatal(err)
	}
	b.Flush()
	if info, _ := b.QueueInfo("q"); info.Depth != 0 || info.Termed != 1 || info.Redelivered != 2 {
		t.Fatalf("info %+v", info)
	}
}

// The router's refusals reach the client as their sentinels.
func TestRouterQueueErrors(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	var errs errLog
	c := connect(t, dir, WithErrorHandler(errs.handler))
	if _, err := c.DeclareQueue("small", QueueConfig{MaxMsgs: 1}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("small", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("small", []byte("2")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("send to a full queue: %v", err)
	}
	cs, err := c.ConsumeSync("small")
	if err != nil {
		t.Fatal(err)
	}
	m, err := cs.NextMsg(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	m.Ack()
	again := *m
	again.settled = 0
	again.Ack() // the router no longer holds it
	waitFor(t, "ErrNotHeld", func() bool {
		return slices.ContainsFunc(errs.all(), func(e error) bool { return errors.Is(e, ErrNotHeld) })
	})
	if err := c.DeleteQueue("small"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the consumer to end", func() bool { return !cs.IsValid() })
	if !errors.Is(cs.Err(), ErrQueueDeleted) {
		t.Fatalf("consumer ended with %v", cs.Err())
	}
	// A private queue goes with its connection.
	other := connect(t, dir)
	priv, err := other.DeclareQueue("", QueueConfig{})
	if err != nil || !priv.Private || priv.Name == "" {
		t.Fatalf("private queue: %+v %v", priv, err)
	}
	other.Close()
	waitFor(t, "the private queue to go", func() bool {
		_, err := c.QueueInfo(priv.Name)
		return errors.Is(err, ErrQueueNotFound)
	})
}

// Bindings, filters and purge.
func TestRouterQueueBindFilterPurge(t *testing.T) {
	dir := t.TempDir()
	startRouter(t, dir)
	c := connect(t, dir)
	c.DeclareQueue("eu", QueueConfig{})
	if err := c.BindQueue("eu", "orders.eu.>"); err != nil {
		t.Fatal(err)
	}
	c.Publish("orders.eu.new", []byte("bound"))
	c.Publish("orders.us.new", []byte("not bound"))
	c.SendMsg(&Msg{Topic: "eu", Data: []byte("vip"), Header: Header{"tier": {"gold"}}})
	c.Flush()
	cs, err := c.ConsumeSync("eu", Filter(`tier == "gold"`))
	if err != nil {
		t.Fatal(err)
	}
	if m, err := cs.NextMsg(waitLimit); err != nil || string(m.Data) != "vip" {
		t.Fatalf("filtered consumer: %v %v", m, err)
	}
	if err := cs.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if err := c.UnbindQueue("eu", "orders.eu.>"); err != nil {
		t.Fatal(err)
	}
	c.Publish("orders.eu.new", []byte("after unbind"))
	c.Flush()
	n, err := c.PurgeQueue("eu")
	if err != nil || n != 2 { // "bound" and "vip" (back from the unsubscribed consumer)
		t.Fatalf("purge: %d %v", n, err)
	}
	all, err := c.Queues()
	if err != nil || len(all) != 1 || all[0].Name != "eu" || all[0].Depth != 0 || len(all[0].Bindings) != 0 {
		t.Fatalf("Queues: %+v %v", all, err)
	}
}

// The steady state of a queue allocates nothing, end to end: Send and its
// confirm, the router's queueing, the delivery to a Consume handler and
// the Ack.
func TestRouterQueueCycleDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dir := t.TempDir()
	startRouter(t, dir)
	c := connect(t, dir)
	if _, err := c.DeclareQueue("hot", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	acked := make(chan struct{}, 1)
	var ackErr error
	if _, err := c.Consume("hot", func(m *Msg) {
		if err := m.Ack(); err != nil {
			ackErr = err
		}
		acked <- struct{}{}
	}, Prefetch(1)); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 64)
	cycle := func() {
		if err := c.Send("hot", data); err != nil {
			t.Fatal(err)
		}
		<-acked
	}
	for range 100 {
		cycle()
	}
	if a := testing.AllocsPerRun(1000, cycle); a != 0 {
		t.Errorf("send, deliver, ack: %v allocs per message", a)
	}
	if ackErr != nil {
		t.Fatal(ackErr)
	}
}

// The router restarts: queues live in its memory, so the consumer the
// reconnecting Hello names is refused (ErrQueueNotFound), and a Send
// written during the outage is confirmed by the new router, here refused
// for want of the queue. Declaring and consuming again works.
func TestRouterQueueAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	r := startRouter(t, dir)
	ev := newEvents()
	c := connect(t, dir, ev.opts()...)
	if _, err := c.DeclareQueue("q", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	cons, err := c.ConsumeSync("q")
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	<-ev.disconnected
	verdict := make(chan error, 1)
	if err := c.SendAsync(&Msg{Topic: "q", Data: []byte("during")}, func(err error) { verdict <- err }); err != nil {
		t.Fatal(err)
	}
	startRouter(t, dir)
	<-ev.reconnected
	waitFor(t, "the consumer to be refused", func() bool { return !cons.IsValid() })
	if !errors.Is(cons.Err(), ErrQueueNotFound) {
		t.Fatalf("consumer after the restart: %v", cons.Err())
	}
	if err := <-verdict; !errors.Is(err, ErrQueueNotFound) {
		t.Fatalf("send during the outage: %v", err)
	}
	if _, err := c.DeclareQueue("q", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	cons, err = c.ConsumeSync("q")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send("q", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if m, err := cons.NextMsg(waitLimit); err != nil || string(m.Data) != "after" || m.Deliveries != 1 {
		t.Fatalf("after the restart: %v %v", m, err)
	}
}
