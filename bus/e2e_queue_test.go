package bus

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Multi-process queue tests: a router process, consumer processes (this
// test binary in the "consume" role) and the test as the sender.

func init() { e2eRoles["consume"] = e2eChildConsume }

// e2eChildConsume consumes c.Subs[0].Queue with prefetch c.Burst (default
// 1). Each delivery is reported as "got DATA DELIVERIES"; it is acked
// unless the Hold field (c.N > 0: hold the first N deliveries unsettled)
// says to keep it in flight. "finish" unsubscribes and exits.
func e2eChildConsume(c *e2eChild) error {
	conn, err := c.connect()
	if err != nil {
		return err
	}
	defer conn.Close()
	var mu sync.Mutex
	held := 0
	var herr error
	sub, err := conn.Consume(c.Subs[0].Queue, func(m *Msg) {
		mu.Lock()
		defer mu.Unlock()
		c.say("got %s %d", m.Data, m.Deliveries)
		if held < c.N {
			held++
			return // stays in flight with this process
		}
		if err := m.Ack(); err != nil && herr == nil {
			herr = err
		}
	}, Prefetch(max(c.Burst, 1)))
	if err != nil {
		return err
	}
	c.say("ready %d %s", conn.ConnID(), conn.Segment())
	for {
		cmd, err := c.command()
		if err != nil {
			return err
		}
		if cmd == "finish" {
			mu.Lock()
			defer mu.Unlock()
			if herr != nil {
				return herr
			}
			return sub.Unsubscribe()
		}
	}
}

// gotLines collects the "got DATA DELIVERIES" lines of consumer children.
func gotLine(line string) (data string, deliveries int) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return "", -1
	}
	n, err := strconv.Atoi(f[1])
	if err != nil {
		return "", -1
	}
	return f[0], n
}

// A consumer process killed with messages in flight (unsettled, ack
// timeout far away): the router notices the death at once and hands those
// messages to the next consumer with the delivery count raised; nothing is
// lost and nothing is delivered to two consumers at once.
func TestE2EQueueKillConsumerHoldingMessages(t *testing.T) {
	b := newE2EBus(t)
	nc := connect(t, b.dir, WithName("sender"))
	if _, err := nc.DeclareQueue("jobs", QueueConfig{AckTimeout: time.Hour}); err != nil {
		t.Fatal(err)
	}
	const n, hold = 40, 5
	for i := range n {
		if err := nc.Send("jobs", fmt.Appendf(nil, "job-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	holder := b.start("holder", "consume", e2eArgs{Subs: []e2eSubSpec{{Queue: "jobs"}}, Burst: hold, N: hold})
	heldData := map[string]bool{}
	for range hold {
		d, k := gotLine(holder.expect("got"))
		if k != 1 {
			t.Fatalf("first delivery of %s counted %d", d, k)
		}
		heldData[d] = true
	}
	holder.kill() // SIGKILL by PID with 5 deliveries in flight
	waitRemoved(t, "the router to remove the dead consumer's segment", b.segmentPath(holder))

	var mu sync.Mutex
	count := map[string]int{}
	deliv := map[string]uint32{}
	if _, err := nc.Consume("jobs", func(m *Msg) {
		mu.Lock()
		count[string(m.Data)]++
		deliv[string(m.Data)] = m.Deliveries
		mu.Unlock()
		if err := m.Ack(); err != nil {
			t.Error(err)
		}
	}, Prefetch(8)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every job to be consumed", func() bool { mu.Lock(); defer mu.Unlock(); return len(count) == n })
	mu.Lock()
	defer mu.Unlock()
	for i := range n {
		d := fmt.Sprintf("job-%02d", i)
		want := uint32(1)
		if heldData[d] {
			want = 2
		}
		if count[d] != 1 || deliv[d] != want {
			t.Errorf("%s: consumed %d times, delivery count %d; want once, count %d", d, count[d], deliv[d], want)
		}
	}
	info, err := nc.QueueInfo("jobs")
	if err != nil {
		t.Fatal(err)
	}
	if info.Depth != 0 || info.Redelivered != hold || info.Acked != n {
		t.Errorf("queue after: depth %d redelivered %d acked %d; want 0, %d, %d", info.Depth, info.Redelivered, info.Acked, hold, n)
	}
	b.stopRouter()
}

// Competing consumer processes: every message sent is consumed exactly
// once across them, and each gets a share.
func TestE2EQueueCompetingConsumers(t *testing.T) {
	b := newE2EBus(t)
	nc := connect(t, b.dir, WithName("sender"))
	if _, err := nc.DeclareQueue("work", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	n := e2eScale(3000, 300)
	const k = 3
	var cons []*e2eClient
	for i := range k {
		cons = append(cons, b.start(fmt.Sprintf("worker-%d", i), "consume", e2eArgs{Subs: []e2eSubSpec{{Queue: "work"}}, Burst: 4}))
	}
	errs := make(chan error, 1)
	go func() {
		for i := range n {
			if err := nc.Send("work", fmt.Appendf(nil, "m-%d", i)); err != nil {
				errs <- fmt.Errorf("send %d: %w", i, err)
				return
			}
		}
		errs <- nil
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queue to drain", func() bool {
		info, err := nc.QueueInfo("work")
		return err == nil && info.Acked == uint64(n)
	})
	seen := map[string]int{}
	for i, c := range cons {
		c.send("finish")
		c.wait()
		got := 0
		for {
			line, ok := c.await("got", 0)
			if !ok {
				break
			}
			d, k := gotLine(line)
			if k != 1 {
				t.Errorf("worker-%d: %s delivered %d times", i, d, k)
			}
			seen[d]++
			got++
		}
		if got == 0 {
			t.Errorf("worker-%d got nothing", i)
		}
		t.Logf("worker-%d: %d messages", i, got)
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages consumed, want %d", len(seen), n)
	}
	for d, c := range seen {
		if c != 1 {
			t.Errorf("%s consumed %d times", d, c)
		}
	}
	b.stopRouter()
}

// A message whose TTL passes while it waits in a subscriber's ring (the
// subscriber's handler is slow) is never handed to the handler: dropped
// and counted on the subscription.
func TestE2EExpiredInSubscriberRing(t *testing.T) {
	b := newE2EBus(t)
	sub := connect(t, b.dir, WithName("slow"))
	release, holding := make(chan struct{}), make(chan struct{})
	var mu sync.Mutex
	var got []string
	s, err := sub.Subscribe("ttl.>", func(m *Msg) {
		if string(m.Data) == "first" {
			close(holding)
			<-release // hold the dispatcher: the rest waits in the ring
		}
		mu.Lock()
		got = append(got, string(m.Data))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, b.dir, WithName("pub"))
	if err := pub.Publish("ttl.a", []byte("first")); err != nil {
		t.Fatal(err)
	}
	<-holding
	for i := range 5 {
		if err := pub.PublishMsg(&Msg{Topic: "ttl.a", Data: fmt.Appendf(nil, "short-%d", i), TTL: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.PublishMsg(&Msg{Topic: "ttl.a", Data: []byte("long"), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // past the short TTLs, in the ring
	close(release)
	waitFor(t, "the long-lived message", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 2 })
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "first" || got[1] != "long" {
		t.Fatalf("handler got %v, want first and long only", got)
	}
	if e := s.Expired(); e != 5 {
		t.Fatalf("expired in the ring: %d, want 5", e)
	}
}
