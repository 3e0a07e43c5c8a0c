package bus

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// consumed gathers owned copies of deliveries, acking none by itself.
type consumed struct {
	mu   sync.Mutex
	msgs []*Msg
}

func (c *consumed) add(m *Msg) *Msg {
	cp := m.Copy()
	c.mu.Lock()
	c.msgs = append(c.msgs, cp)
	c.mu.Unlock()
	return cp
}

func (c *consumed) wait(t *testing.T, n int) []*Msg {
	t.Helper()
	waitFor(t, "deliveries", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.msgs) >= n
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

func TestConsumeAckInPriorityOrder(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	if _, err := c.DeclareQueue("work", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	for i, p := range []int{1, 9, 4, 9} {
		m := &Msg{Topic: "work", Data: []byte{byte('a' + i)}, Priority: Prio(p), Header: Header{"n": {string(rune('a' + i))}}}
		if err := c.SendMsg(m); err != nil {
			t.Fatal(err)
		}
	}
	var got consumed
	var ackErr error
	sub, err := c.Consume("work", func(m *Msg) {
		got.add(m)
		if err := m.Ack(); err != nil {
			ackErr = err
		}
		if err := m.Ack(); !errors.Is(err, ErrAlreadySettled) {
			ackErr = err
		}
	}, Prefetch(1))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Consumes != "work" || sub.Pattern != "" || !sub.IsValid() {
		t.Fatalf("consumer %+v", sub)
	}
	msgs := got.wait(t, 4)
	var order string
	for _, m := range msgs {
		order += string(m.Data)
		if !m.IsQueued() || m.Deliveries != 1 || m.Topic != "work" || m.Header.Get("n") != string(m.Data) || m.Sub != sub {
			t.Errorf("delivery %+v", m)
		}
	}
	if order != "bdca" { // 9, 9, 4, 1: FIFO within a level
		t.Errorf("delivered in order %q", order)
	}
	if ackErr != nil {
		t.Fatal(ackErr)
	}
	c.Flush()
	st := f.settleLog()
	if len(st) != 4 {
		t.Fatalf("settles %+v", st)
	}
	for i, s := range st {
		if s.Op != wire.SettleAck || s.SID != sub.SID() || s.ID != msgs[i].ID {
			t.Errorf("settle %d: %+v", i, s)
		}
	}
	if info, _ := c.QueueInfo("work"); info.Depth != 0 || info.Acked != 4 || info.Consumers != 1 {
		t.Errorf("after acks: %+v", info)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	if info, _ := c.QueueInfo("work"); info.Consumers != 0 {
		t.Errorf("after Unsubscribe: %d consumers", info.Consumers)
	}
}

func TestConsumeNakTermInProgress(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	c.DeclareQueue("retry", QueueConfig{})
	c.Send("retry", []byte("x"))
	ch := make(chan *Msg, 8)
	sub, err := c.ChanConsume("retry", ch, Prefetch(4))
	if err != nil {
		t.Fatal(err)
	}
	m := <-ch
	if m.Deliveries != 1 {
		t.Fatalf("first delivery: %d", m.Deliveries)
	}
	if err := m.InProgress(); err != nil {
		t.Fatal(err)
	}
	if err := m.InProgress(); err != nil {
		t.Fatal(err)
	}
	if err := m.Nak(-time.Second); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("negative delay: %v", err)
	}
	if err := m.Nak(0); err != nil {
		t.Fatal(err)
	}
	for _, settle := range []func() error{m.Ack, m.Term, m.InProgress, func() error { return m.Nak(0) }} {
		if err := settle(); !errors.Is(err, ErrAlreadySettled) {
			t.Fatalf("settle after Nak: %v", err)
		}
	}
	m2 := <-ch
	if string(m2.Data) != "x" || m2.Deliveries != 2 || m2.ID != m.ID {
		t.Fatalf("redelivery: %+v", m2)
	}
	if err := m2.Term(); err != nil {
		t.Fatal(err)
	}
	c.Flush()
	var ops []uint8
	for _, s := range f.settleLog() {
		ops = append(ops, s.Op)
		if s.SID != sub.SID() {
			t.Errorf("settle on sid %d, consumer is %d", s.SID, sub.SID())
		}
	}
	if want := []uint8{wire.SettleInProgress, wire.SettleInProgress, wire.SettleNak, wire.SettleTerm}; !slices.Equal(ops, want) {
		t.Fatalf("settle ops %v, want %v", ops, want)
	}
	if info, _ := c.QueueInfo("retry"); info.Depth != 0 || info.Termed != 1 || info.Naked != 1 || info.Redelivered != 1 {
		t.Fatalf("info %+v", info)
	}
}

// Settling what is not a queue delivery fails with ErrNotQueued, and the
// router's refusal of a settle reaches the error handler as ErrNotHeld.
func TestSettleErrors(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	var errs errLog
	c := connect(t, dir, WithErrorHandler(errs.handler))
	s, _ := c.SubscribeSync("plain")
	c.Publish("plain", nil)
	m, err := s.NextMsg(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, settle := range []func() error{m.Ack, m.Term, m.InProgress, func() error { return m.Nak(0) }} {
		if err := settle(); !errors.Is(err, ErrNotQueued) {
			t.Fatalf("settle of a plain message: %v", err)
		}
	}
	if err := (&Msg{}).Ack(); !errors.Is(err, ErrNotQueued) {
		t.Fatalf("settle of a made-up message: %v", err)
	}
	c.DeclareQueue("q", QueueConfig{})
	c.Send("q", nil)
	cs, _ := c.ConsumeSync("q")
	d, err := cs.NextMsg(waitLimit)
	if err != nil {
		t.Fatal(err)
	}
	d.Ack()
	again := *d // a copy made before settling: the router says no
	again.settled = 0
	if err := again.Ack(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ErrNotHeld", func() bool {
		for _, e := range errs.all() {
			if errors.Is(e, ErrNotHeld) {
				return true
			}
		}
		return false
	})
}

func TestConsumeRefused(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	if _, err := c.Consume("missing", func(*Msg) {}); !errors.Is(err, ErrQueueNotFound) || !strings.Contains(err.Error(), `no queue "missing"`) {
		t.Fatalf("consume of no queue: %v", err)
	}
	c.DeclareQueue("q", QueueConfig{})
	for _, opt := range []ConsumeOption{Filter("region =="), Filter("")} {
		_, err := c.Consume("q", func(*Msg) {}, opt)
		if !errors.Is(err, ErrBadFilter) || !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), "column") {
			t.Errorf("bad filter: %v", err)
		}
	}
	for _, n := range []int{0, -1, wire.MaxPrefetch + 1} {
		if _, err := c.Consume("q", func(*Msg) {}, Prefetch(n)); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("Prefetch(%d): %v", n, err)
		}
	}
	if _, err := c.Consume("q", nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil handler: %v", err)
	}
	if _, err := c.Subscribe("a", func(*Msg) {}, WithFilter("&&")); !errors.Is(err, ErrBadFilter) {
		t.Errorf("Subscribe with a bad filter: %v", err)
	}
}

// Deleting the queue ends its consumers, with ErrQueueDeleted.
func TestQueueDeletedEndsConsumer(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	var errs errLog
	c := connect(t, dir, WithErrorHandler(errs.handler))
	c.DeclareQueue("doomed", QueueConfig{})
	sub, err := c.ConsumeSync("doomed")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteQueue("doomed"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the consumer to end", func() bool { return !sub.IsValid() })
	if !errors.Is(sub.Err(), ErrQueueDeleted) {
		t.Fatalf("Err: %v", sub.Err())
	}
	if _, err := sub.NextMsg(time.Millisecond); !errors.Is(err, ErrQueueDeleted) || !errors.Is(err, ErrBadSubscription) {
		t.Fatalf("NextMsg on an ended consumer: %v", err)
	}
	waitFor(t, "the error handler", func() bool { return len(errs.all()) > 0 })
	if err := errs.all()[0]; !errors.Is(err, ErrQueueDeleted) {
		t.Fatalf("error handler got %v", err)
	}
}

// Filters travel to the router: in the Consume frame and the Sub frame.
func TestFilters(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	c.DeclareQueue("orders", QueueConfig{})
	cs, err := c.ConsumeSync("orders", Filter(`region == "eu" && $priority >= 5`))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := c.SubscribeSync("orders.>", WithFilter(`exists(vip)`))
	if err != nil {
		t.Fatal(err)
	}
	c.Flush()
	for _, m := range []*Msg{
		{Header: Header{"region": {"us"}}, Priority: Prio(9), Data: []byte("us")},
		{Header: Header{"region": {"eu"}}, Priority: Prio(1), Data: []byte("eu low")},
		{Header: Header{"region": {"eu"}, "vip": {""}}, Priority: Prio(7), Data: []byte("eu high")},
	} {
		m.Topic = "orders"
		if err := c.SendMsg(m); err != nil {
			t.Fatal(err)
		}
		m.Topic = "orders.new"
		c.PublishMsg(m)
	}
	m, err := cs.NextMsg(waitLimit)
	if err != nil || string(m.Data) != "eu high" {
		t.Fatalf("filtered consumer got %v %v", m, err)
	}
	m, err = ss.NextMsg(waitLimit)
	if err != nil || string(m.Data) != "eu high" {
		t.Fatalf("filtered subscription got %v %v", m, err)
	}
	c.Flush()
	if cs.Pending() != 0 || ss.Pending() != 0 {
		t.Fatalf("more got through: %d, %d", cs.Pending(), ss.Pending())
	}
}

// A reconnecting Hello lists the consumers with their queue, prefetch and
// selector, and the subscriptions with their selector. The new router
// resumes a consumer whose queue it has, and ends one whose queue it has
// not (ErrQueueNotFound).
func TestReconnectHelloCarriesConsumers(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	var errs errLog
	c := connect(t, dir, append(ev.opts(), WithErrorHandler(errs.handler))...)
	c.DeclareQueue("q", QueueConfig{})
	c.DeclareQueue("gone", QueueConfig{})
	cons, err := c.ConsumeSync("q", Prefetch(3), Filter("true"))
	if err != nil {
		t.Fatal(err)
	}
	lost, err := c.ConsumeSync("gone")
	if err != nil {
		t.Fatal(err)
	}
	sub, _ := c.SubscribeSync("t", WithFilter("exists(k)"))
	c.Flush()
	f.kill()
	f2 := startFakeWith(t, dir, 1, true) // paused: takes the Hello, reads nothing yet
	f2.addQueue("q")                     // it kept "q", not "gone"
	waitReconnected(t, ev)
	hellos := f2.helloLog()
	var specs []wire.SubSpec
	for _, s := range hellos[len(hellos)-1].Subs {
		if !strings.HasPrefix(s.Pattern, "_INBOX") {
			specs = append(specs, s)
		}
	}
	slices.SortFunc(specs, func(a, b wire.SubSpec) int { return int(a.SID) - int(b.SID) })
	want := []wire.SubSpec{
		{SID: cons.SID(), Queue: "q", Prefetch: 3, Selector: "true"},
		{SID: lost.SID(), Queue: "gone", Prefetch: DefaultPrefetch},
		{SID: sub.SID(), Pattern: "t", Selector: "exists(k)"},
	}
	if !slices.Equal(specs, want) {
		t.Fatalf("Hello subs %+v, want %+v", specs, want)
	}
	f2.resume()
	if err := c.Send("q", []byte("after")); err != nil {
		t.Fatal(err)
	}
	if m, err := cons.NextMsg(waitLimit); err != nil || string(m.Data) != "after" {
		t.Fatalf("after reconnect: %v %v", m, err)
	}
	waitFor(t, "the lost consumer to end", func() bool { return !lost.IsValid() })
	if !errors.Is(lost.Err(), ErrQueueNotFound) || !cons.IsValid() {
		t.Fatalf("lost consumer: %v; kept consumer valid: %v", lost.Err(), cons.IsValid())
	}
}

// A send the dead router read but did not confirm fails with
// ErrUnconfirmed once the new router is there; one it never read is
// confirmed by the new router.
func TestSendUnconfirmedAcrossReconnect(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	ev := newEvents()
	c := connect(t, dir, ev.opts()...)
	c.DeclareQueue("q", QueueConfig{})
	f.noConfirm.Store(true)
	lost := make(chan error, 1)
	if err := c.SendAsync(&Msg{Topic: "q"}, func(err error) { lost <- err }); err != nil {
		t.Fatal(err)
	}
	c.Flush() // read by the router, which never answers
	f.pause()
	kept := make(chan error, 1)
	if err := c.SendAsync(&Msg{Topic: "q"}, func(err error) { kept <- err }); err != nil {
		t.Fatal(err)
	}
	f.kill()
	f2 := startFake(t, dir)
	f2.confirmOnly.Store(true)
	waitReconnected(t, ev)
	select {
	case err := <-lost:
		if !errors.Is(err, ErrUnconfirmed) {
			t.Fatalf("lost confirm: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("no verdict for the lost confirm")
	}
	if err := <-kept; err != nil {
		t.Fatalf("send the new router read: %v", err)
	}
	if n := c.PendingSends(); n != 0 {
		t.Fatalf("%d pending", n)
	}
}

// A consumer's unsettled deliveries go back to the queue when it
// unsubscribes; another consumer gets them, counted as a second delivery.
func TestUnsubscribeReturnsDeliveries(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	a, b := connect(t, dir), connect(t, dir)
	a.DeclareQueue("q", QueueConfig{})
	sa, _ := a.ConsumeSync("q", Prefetch(1))
	a.Send("q", []byte("m"))
	m, err := sa.NextMsg(waitLimit)
	if err != nil || m.Deliveries != 1 {
		t.Fatalf("first: %v %v", m, err)
	}
	sb, _ := b.ConsumeSync("q")
	sa.Unsubscribe()
	m, err = sb.NextMsg(waitLimit)
	if err != nil || m.Deliveries != 2 || string(m.Data) != "m" {
		t.Fatalf("second: %v %v", m, err)
	}
	if err := m.Ack(); err != nil {
		t.Fatal(err)
	}
}

// Settling does not allocate.
func TestAckDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	m := &Msg{conn: c, queued: true, sid: 1, ID: 1}
	f.pause() // the settles pile up in the ring, unread
	if a := testing.AllocsPerRun(1000, func() {
		m.settled = 0
		if err := m.Ack(); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Ack: %v allocs", a)
	}
}

func waitReconnected(t *testing.T, ev *events) {
	t.Helper()
	select {
	case <-ev.reconnected:
	case <-time.After(waitLimit):
		t.Fatal("no reconnect")
	}
}
