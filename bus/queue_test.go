package bus

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// These tests run the queue API against the fake router (fakequeue_test.go):
// they check what the client writes and how it reads the answers. The real
// router's queues are tested with the client in queue_router_test.go.

func TestQueueManagement(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)

	cfg := QueueConfig{MaxMsgs: 10, Overflow: OverflowDropOldest, AckTimeout: time.Second, AlertLevels: []uint8{50, 90}, Durability: DurabilityBatch}
	info, err := c.DeclareQueue("orders", cfg)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "orders" || info.Private || info.Config.MaxMsgs != 10 || info.Config.MaxBytes != 64<<20 ||
		info.Config.Overflow != OverflowDropOldest || info.Config.Starvation != StarvationStrict ||
		info.Config.Durability != DurabilityBatch || !slices.Equal(info.Config.AlertLevels, []uint8{50, 90}) {
		t.Fatalf("declared: %+v", info)
	}
	if _, err := c.DeclareQueue("orders", cfg); err != nil {
		t.Fatalf("declaring again with the same config: %v", err)
	}
	cfg.MaxMsgs = 11
	if _, err := c.DeclareQueue("orders", cfg); !errors.Is(err, ErrQueueConflict) || !strings.Contains(err.Error(), "another config") {
		t.Fatalf("declaring again with another config: %v", err)
	}
	priv, err := c.DeclareQueue("", QueueConfig{})
	if err != nil || priv.Name == "" || !priv.Private {
		t.Fatalf("private queue: %+v, %v", priv, err)
	}

	if err := c.BindQueue("orders", "orders.*.created"); err != nil {
		t.Fatal(err)
	}
	if err := c.BindQueue("orders", "orders.>"); err != nil {
		t.Fatal(err)
	}
	if err := c.UnbindQueue("orders", "orders.>"); err != nil {
		t.Fatal(err)
	}
	c.Publish("orders.eu.created", []byte("bound"))
	if err := c.Send("orders", []byte("sent")); err != nil {
		t.Fatal(err)
	}
	info, err = c.QueueInfo("orders")
	if err != nil || !slices.Equal(info.Bindings, []string{"orders.*.created"}) || info.Depth != 2 || info.Ready != 2 || info.Enqueued != 2 {
		t.Fatalf("info: %+v, %v", info, err)
	}
	all, err := c.Queues()
	if err != nil || len(all) != 2 || all[0].Name > all[1].Name {
		t.Fatalf("Queues: %+v, %v", all, err)
	}
	if n, err := c.PurgeQueue("orders"); n != 2 || err != nil {
		t.Fatalf("PurgeQueue: %d, %v", n, err)
	}
	if err := c.DeleteQueue("orders"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"info":   func() error { _, err := c.QueueInfo("orders"); return err }(),
		"delete": c.DeleteQueue("orders"),
		"bind":   c.BindQueue("orders", "x"),
		"purge":  func() error { _, err := c.PurgeQueue("orders"); return err }(),
	} {
		if !errors.Is(err, ErrQueueNotFound) || !strings.Contains(err.Error(), `no queue "orders"`) {
			t.Errorf("%s of a deleted queue: %v", name, err)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.QueueInfoWithContext(ctx, priv.Name); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

// Mistakes are caught before anything is written, with ErrQueueInvalid.
func TestQueueInvalidRequests(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	for name, err := range map[string]error{
		"bad name":         func() error { _, err := c.DeclareQueue("a..b", QueueConfig{}); return err }(),
		"wildcard name":    func() error { _, err := c.DeclareQueue("a.*", QueueConfig{}); return err }(),
		"negative MaxMsgs": func() error { _, err := c.DeclareQueue("q", QueueConfig{MaxMsgs: -1}); return err }(),
		"aging w/o aging":  func() error { _, err := c.DeclareQueue("q", QueueConfig{AgingLimit: 3}); return err }(),
		"bad alert levels": func() error { _, err := c.DeclareQueue("q", QueueConfig{AlertLevels: []uint8{90, 50}}); return err }(),
		"bad dead letter":  func() error { _, err := c.DeclareQueue("q", QueueConfig{DeadLetter: "dlq"}); return err }(),
		"unknown overflow": func() error { _, err := c.DeclareQueue("q", QueueConfig{Overflow: 7}); return err }(),
		"bad binding":      c.BindQueue("q", "a.>.b"),
		"send bad name":    c.Send("a.>", nil),
		"consume bad name": func() error { _, err := c.Consume("", func(*Msg) {}); return err }(),
	} {
		if !errors.Is(err, ErrQueueInvalid) {
			t.Errorf("%s: %v, want ErrQueueInvalid", name, err)
		}
	}
	c.Flush()
	f.qmu.Lock()
	defer f.qmu.Unlock()
	if len(f.ctlOps) != 0 {
		t.Errorf("invalid requests reached the router: ops %v", f.ctlOps)
	}
}

// Every result code maps to its sentinel, wrapped with the router's text.
func TestCodeErrSentinels(t *testing.T) {
	for code, want := range map[uint32]error{
		wire.CodeQueueNotFound: ErrQueueNotFound,
		wire.CodeQueueConflict: ErrQueueConflict,
		wire.CodeQueueInvalid:  ErrQueueInvalid,
		wire.CodeQueueFull:     ErrQueueFull,
		wire.CodeMsgExpired:    ErrExpired,
		wire.CodeMsgTooLarge:   ErrMaxPayload,
		wire.CodeNotHeld:       ErrNotHeld,
		wire.CodeQueueDeleted:  ErrQueueDeleted,
		wire.CodeBadSub:        ErrBadSubscription,
		99:                     ErrRejected,
	} {
		err := codeErr(code, []byte("because"))
		if !errors.Is(err, want) || !strings.Contains(err.Error(), "because") {
			t.Errorf("code %d: %v, want %v", code, err, want)
		}
	}
	if codeErr(wire.CodeOK, nil) != nil {
		t.Error("CodeOK is an error")
	}
}

func TestSend(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	if _, err := c.DeclareQueue("jobs", QueueConfig{MaxMsgs: 2, MaxBytes: 100}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("jobs", []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMsg(&Msg{Topic: "jobs", Data: []byte("b"), Priority: Prio(9), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := c.Send("jobs", []byte("c")); !errors.Is(err, ErrQueueFull) || !strings.Contains(err.Error(), "holds 2 messages") {
		t.Errorf("send to a full queue: %v", err)
	}
	if err := c.Send("nope", nil); !errors.Is(err, ErrQueueNotFound) {
		t.Errorf("send to no queue: %v", err)
	}
	c.PurgeQueue("jobs")
	if err := c.Send("jobs", make([]byte, 101)); !errors.Is(err, ErrMaxPayload) {
		t.Errorf("send over the queue's MaxBytes: %v", err)
	}
	if err := c.Send("jobs", make([]byte, c.MaxPayload()+1)); !errors.Is(err, ErrMaxPayload) {
		t.Errorf("send over the connection's limit: %v", err)
	}
	// Expired before sending: refused here. Expired on the way: by the router.
	if err := c.SendMsg(&Msg{Topic: "jobs", Deadline: MonotonicNanos() - 1}); !errors.Is(err, ErrExpired) {
		t.Errorf("send past its deadline: %v", err)
	}
	f.pause()
	verdict := make(chan error, 1)
	if err := c.SendAsync(&Msg{Topic: "jobs", TTL: time.Millisecond}, func(err error) { verdict <- err }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	f.resume()
	if err := <-verdict; !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "before it was queued") {
		t.Errorf("send that expired in the ring: %v", err)
	}
	// No confirm: ErrTimeout (by the queue timeout, or the context).
	f.noConfirm.Store(true)
	impatient := connect(t, dir, WithQueueTimeout(10*time.Millisecond))
	if err := impatient.Send("jobs", nil); !errors.Is(err, ErrTimeout) {
		t.Errorf("unconfirmed send: %v", err)
	}
	if n := impatient.PendingSends(); n != 0 {
		t.Errorf("%d sends still pending after they timed out", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := c.SendWithContext(ctx, "jobs", nil); !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("unconfirmed send with a context: %v", err)
	}
	if n := c.PendingSends(); n != 0 {
		t.Errorf("%d sends still pending after they timed out", n)
	}
	if err := c.SendAsync(&Msg{Topic: "jobs"}, nil); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("SendAsync without callback: %v", err)
	}
	if err := c.SendMsg(&Msg{Topic: "jobs", Priority: Prio(10)}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("priority 10: %v", err)
	}
}

func TestSendAsync(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	if _, err := c.DeclareQueue("bulk", QueueConfig{}); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	var failed atomic.Int64
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
		wg.Done()
	}
	m := &Msg{Topic: "bulk", Data: []byte("x")}
	for range n {
		wg.Add(1)
		if err := c.SendAsync(m, done); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if failed.Load() != 0 || c.PendingSends() != 0 {
		t.Fatalf("%d failed, %d pending", failed.Load(), c.PendingSends())
	}
	if info, _ := c.QueueInfo("bulk"); info.Depth != n {
		t.Fatalf("queue holds %d, want %d", info.Depth, n)
	}
	// A callback still waiting when the Conn closes gets ErrConnectionClosed.
	f.noConfirm.Store(true)
	verdict := make(chan error, 1)
	if err := c.SendAsync(&Msg{Topic: "bulk"}, func(err error) { verdict <- err }); err != nil {
		t.Fatal(err)
	}
	c.Flush() // the router has it, and will not answer
	c.Close()
	if err := <-verdict; !errors.Is(err, ErrConnectionClosed) {
		t.Fatalf("pending at close: %v", err)
	}
}

// Waiting for a confirm allocates nothing once the waiters exist: the
// fake router confirms without queueing (and without allocating).
func TestSendDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dir := t.TempDir()
	f := startFake(t, dir)
	f.confirmOnly.Store(true)
	c := connect(t, dir)
	data := make([]byte, 64)
	c.Send("q", data)
	if a := testing.AllocsPerRun(1000, func() {
		if err := c.Send("q", data); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Send: %v allocs per message", a)
	}
	ctx := context.Background()
	if a := testing.AllocsPerRun(1000, func() {
		if err := c.SendWithContext(ctx, "q", data); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("SendWithContext: %v allocs per message", a)
	}
	var confirmed atomic.Int64
	done := func(err error) { confirmed.Add(1) }
	m := &Msg{Topic: "q", Data: data, Priority: Prio(7)}
	// Warm up with more messages in flight than the measured runs can
	// have: the waiters (and the table's slots) are kept for reuse.
	const runs = 1000
	f.pause() // all of them in flight at once
	for range 2 * runs {
		c.SendAsync(m, done)
	}
	f.resume()
	waitFor(t, "warm-up", func() bool { return confirmed.Load() == 2*runs })
	if a := testing.AllocsPerRun(runs, func() {
		if err := c.SendAsync(m, done); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("SendAsync: %v allocs per message", a)
	}
	waitFor(t, "confirms", func() bool { return confirmed.Load() == 3*runs+1 })
}

// The waiter table against a map, with ids that collide in its slots.
func TestSendTable(t *testing.T) {
	var tab sendTable
	model := map[uint64]*sendWaiter{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		if rng.IntN(3) > 0 || len(model) == 0 {
			id := uint64(rng.IntN(4096)) << 6 // many share low bits
			if model[id] != nil {
				continue
			}
			w := tab.get()
			w.id = id
			w.pos.Store(uint64(i))
			tab.insert(w)
			model[id] = w
		} else {
			for id, w := range model {
				if rng.IntN(2) == 0 {
					if tab.take(id) != w {
						t.Fatalf("take %d", id)
					}
				} else if !tab.remove(w) {
					t.Fatalf("remove %d", id)
				}
				delete(model, id)
				tab.put(w)
				break
			}
		}
		if tab.n != len(model) {
			t.Fatalf("step %d: table holds %d, model %d", i, tab.n, len(model))
		}
	}
	for id, w := range model {
		if tab.find(id) < 0 || tab.slots[tab.find(id)] != w {
			t.Fatalf("%d lost", id)
		}
	}
	if tab.take(1) != nil {
		t.Fatal("took an absent id")
	}
	mid := uint64(10000)
	taken := tab.takeUpTo(mid)
	for _, w := range taken {
		if w.pos.Load() > mid {
			t.Fatalf("took pos %d above %d", w.pos.Load(), mid)
		}
		delete(model, w.id)
	}
	for id, w := range model {
		if w.pos.Load() <= mid || tab.find(id) < 0 {
			t.Fatalf("%d: pos %d left or lost", id, w.pos.Load())
		}
	}
}

func TestPriorityAndDeadlineTravel(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	s, _ := c.SubscribeSync("p")
	c.Publish("p", nil)
	deadline := MonotonicNanos() + int64(time.Hour)
	c.PublishMsg(&Msg{Topic: "p", Priority: Prio(0), Deadline: deadline, TTL: 2 * time.Hour})
	before := MonotonicNanos()
	c.PublishMsg(&Msg{Topic: "p", Priority: Prio(9), TTL: time.Hour, Deadline: deadline + int64(time.Hour)})
	for i, want := range []struct {
		level int
		check func(int64) bool
	}{
		{DefaultPriority, func(d int64) bool { return d == 0 }},
		{0, func(d int64) bool { return d == deadline }},
		{9, func(d int64) bool { return d >= before+int64(time.Hour) && d < deadline+int64(time.Hour) }},
	} {
		m, err := s.NextMsg(waitLimit)
		if err != nil {
			t.Fatal(err)
		}
		if m.Priority.Level() != want.level || !m.Priority.IsSet() || !want.check(m.Deadline) || m.IsQueued() || m.Deliveries != 0 {
			t.Errorf("message %d: priority %v, deadline %d", i, m.Priority, m.Deadline)
		}
	}
	if err := c.PublishMsg(&Msg{Topic: "p", TTL: -time.Second}); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("negative TTL: %v", err)
	}
	if err := c.PublishMsg(&Msg{Topic: "p", Deadline: 1}); !errors.Is(err, ErrExpired) {
		t.Errorf("publish past its deadline: %v", err)
	}
	var p Priority
	if p.Level() != DefaultPriority || p.IsSet() || Prio(3).String() != "3" {
		t.Errorf("Priority zero value %v", p)
	}
}

// A message whose deadline passed while it waited in the ring is dropped
// and counted, never handed to the handler; a queue delivery is naked back.
func TestExpiredInRingDropped(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	c := connect(t, dir)
	var got collector
	s, _ := c.Subscribe("t", got.handler)
	c.Flush()
	id := uint64(0)
	inject := func(data string, deadline int64, flags uint8) {
		id++
		m := wire.Msg{ID: id, Topic: []byte("t"), SID: s.SID(), Deadline: uint64(deadline), Flags: flags, Data: []byte(data)}
		buf := make([]byte, m.Size())
		m.Encode(buf)
		f.inject(wire.TypeMsg, buf)
	}
	inject("late", MonotonicNanos()-1, 0)
	inject("late queued", MonotonicNanos()-1, wire.FlagQueued)
	inject("in time", MonotonicNanos()+int64(time.Hour), 0)
	if d := got.wait(t, 1); !slices.Equal(d, []string{"in time"}) {
		t.Fatalf("delivered %q", d)
	}
	if s.Expired() != 2 || c.Stats().Expired != 2 || s.Delivered() != 1 {
		t.Fatalf("expired %d (conn %d), delivered %d", s.Expired(), c.Stats().Expired, s.Delivered())
	}
	c.Flush()
	if st := f.settleLog(); len(st) != 1 || st[0].Op != wire.SettleNak || st[0].ID != 2 || st[0].SID != s.SID() {
		t.Fatalf("settles %+v, want one nak", st)
	}
}

func TestQueueConfigJSON(t *testing.T) {
	in := QueueConfig{MaxMsgs: 5, Overflow: OverflowBlock, Starvation: StarvationAging, AgingLimit: 3, AlertLevels: []uint8{10, 20}, Durability: DurabilitySync, AckTimeout: -1}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"alert_levels":[10,20]`) || !strings.Contains(s, `"overflow":"block"`) || !strings.Contains(s, `"durability":"sync"`) {
		t.Fatalf("JSON %s", s)
	}
	var out QueueConfig
	if err := json.Unmarshal(b, &out); err != nil || !slices.Equal(out.AlertLevels, in.AlertLevels) || out.Overflow != in.Overflow || out.Starvation != in.Starvation || out.AckTimeout != -1 {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	if w := in.toWire(); w.Overflow != "block" || w.Starvation != "aging" || w.Durability != "sync" {
		t.Fatalf("wire: %+v", w)
	}
	if w := (&QueueConfig{}).toWire(); w.Overflow != "" || w.Starvation != "" || w.Durability != "" {
		t.Fatalf("defaults on the wire: %+v", w)
	}
	for _, s := range []string{"reject", "drop-oldest", "block"} {
		if o, err := ParseOverflow(s); err != nil || o.String() != s {
			t.Errorf("overflow %q: %v %v", s, o, err)
		}
	}
	if _, err := ParseStarvation("fair"); !errors.Is(err, ErrQueueInvalid) {
		t.Errorf("bad starvation: %v", err)
	}
}
