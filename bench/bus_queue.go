package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/bus"
)

// Queues: point to point through a queue the router holds (bus.DeclareQueue,
// Send, Consume, Ack), 64 B.
//
//	bus.queue/Kc         sender (this process) -> router (child) -> K consumer children
//	bus.queue/1c/sync    the same, 1 consumer, Send (one confirm round trip per message)
//	bus.queue/1c/ttl     bus.queue/1c with a TTL (an hour: nothing expires) on every message
//	bus.queue/1c/filter  bus.queue/1c with a header kind=job on every message and the
//	                     consumer's Filter(`kind == "job"`), which every message passes
//	bus.queue.prio/X     a consumer (this process) timing priority-9 messages from a
//	                     sender child, X = backlog (10,000 priority-0 messages waiting
//	                     in the queue) or empty
//
// Throughput (bus.queue/*): the sender pushes N messages with SendAsync
// (confirmed: every confirm is counted, and one that is not OK fails the
// run; "sync": Send), each carrying its sequence number in its first 8
// bytes. The queue (OverflowBlock; p.QueueMax messages, by default the
// router's 100,000) holds the sender back when the consumers fall behind.
// Every consumer Consumes with a prefetch of p.Prefetch (default
// DefaultQueuePrefetch) and Acks every delivery in its handler (zero copy:
// it reads every cache line of the payload in the ring), after checking
// its size and that it has not seen its sequence number before; it keeps a
// bitmap of what it acked. After every Ack it also stores its count and
// the time (CLOCK_MONOTONIC) in a slot of its own in a shared page. The
// time runs from the first send (the consumers and the router ready, the
// router counting) to the latest of those Ack times, once the counts add
// up to N. Then the bitmaps are merged: every sequence number acked
// exactly once, by exactly one consumer, and the queue's counters must
// agree (N enqueued; nothing redelivered, expired, dropped or refused), or
// the run fails. The rate is messages acked per second, end to end. The
// idle strategy (p.Idle, "backoff" by default) is every process's.

// Queue benchmark defaults.
const (
	DefaultQueuePrefetch = 256    // deliveries a bus.queue consumer holds unsettled at most
	DefaultQueueBacklog  = 10_000 // low-priority messages waiting in bus.queue.prio/backlog
	// DefaultQueuePrioRate is the rate (msgs/s) of bus.queue.prio's
	// priority-9 messages: with prefetch 1, the consumer takes the next
	// one only once the router has its Ack of the last, and through an
	// empty queue (the router and the consumer parked between messages)
	// that round trip can take ~100 us on a busy 2-vCPU host: at 10k
	// msgs/s the messages would queue behind each other.
	DefaultQueuePrioRate = 1_000
	queueName            = "bench.q"
	queueSlot            = 128 // bytes of a consumer's slot in the shared page: two cache lines
	maxQueueConsumers    = pageSize / queueSlot
	queueSlotsFile       = "acks"
	queueTTL             = time.Hour // bus.queue/1c/ttl: far enough that nothing expires
	queueFilter          = `kind == "job"`
	prioHigh, prioLow    = 9, 0
)

func init() {
	roles["bus-qconsumer"] = busQueueConsumer
	roles["bus-qsender"] = busQueueSender
}

// BusQueue measures queue throughput: N messages of Size bytes (default
// 64) sent by this process, consumed and acked by p.Subs (default 1)
// consumer processes. p.Variant: "" (SendAsync), "sync" (Send), "ttl"
// (SendAsync of messages with a TTL) or "filter" (SendAsync of messages
// with a header, consumed through a selector that takes them all).
func BusQueue(p Params) (*Result, error) {
	k := max(1, p.Subs)
	name := fmt.Sprintf("bus.queue/%dc", k)
	if p.Variant != "" {
		name += "/" + p.Variant
	}
	n, size, idle := p.n(DefaultPubSubN), p.size(64), p.Idle
	if idle == "" {
		idle = "backoff"
	}
	prefetch := p.Prefetch
	if prefetch == 0 {
		prefetch = DefaultQueuePrefetch
	}
	switch {
	case size < 8 || size > MaxStreamSize:
		return nil, fmt.Errorf("bench: %s: size %d out of range (8 .. %d)", name, size, MaxStreamSize)
	case k > maxQueueConsumers:
		return nil, fmt.Errorf("bench: %s: %d consumers, at most %d", name, k, maxQueueConsumers)
	case p.Variant != "" && p.Variant != "sync" && p.Variant != "ttl" && p.Variant != "filter":
		return nil, fmt.Errorf("bench: %s: unknown variant %q (sync, ttl, filter)", name, p.Variant)
	}
	filter := ""
	if p.Variant == "filter" {
		filter = queueFilter
	}
	ring := ringFor(size)
	var elapsed, routerCPU int64
	var sys uint64
	err := func() error {
		dir, cleanup, err := p.tempDir()
		if err != nil {
			return err
		}
		defer cleanup()
		w := newCrew(dir, p.timeout())
		defer w.kill()
		g := newGuard(p.timeout(), nil)
		if err := w.start("bus-router", childArgs{Idle: idle}, true); err != nil {
			return err
		}
		if _, err := w.await("router", &g); err != nil {
			return err
		}
		sendErr := newFirstErr()
		c, err := busConnect(dir, "sender", idle, bus.WithPublishTimeout(p.timeout()), bus.WithQueueTimeout(p.timeout()),
			bus.WithRingSize(ring, ring), bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { sendErr.set(err) }))
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.DeclareQueue(queueName, bus.QueueConfig{MaxMsgs: p.QueueMax, Overflow: bus.OverflowBlock, BlockTimeout: p.timeout()}); err != nil {
			return err
		}
		slots, err := mapFile(filepath.Join(dir, queueSlotsFile), pageSize, true)
		if err != nil {
			return err
		}
		defer unix.Munmap(slots)
		for i := range k {
			a := childArgs{N: n, Size: size, Index: i, Idle: idle, Capacity: ring, Prefetch: prefetch, Filter: filter}
			if err := w.start("bus-qconsumer", a, false); err != nil {
				return err
			}
		}
		for i := range k {
			if _, err := w.await("cons-"+strconv.Itoa(i), &g); err != nil {
				return err
			}
		}
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i)
		}
		m := &bus.Msg{Topic: queueName, Data: msg}
		switch p.Variant {
		case "ttl":
			m.TTL = queueTTL
		case "filter":
			m.Header = bus.Header{"kind": {"job"}}
		}
		var confirmed atomic.Int64
		done := func(err error) {
			if err != nil {
				sendErr.set(fmt.Errorf("send confirm: %w", err))
			}
			confirmed.Add(1)
		}
		if err := w.markRouter(&g); err != nil {
			return err
		}
		start, sys0 := monoNow(), syscalls()
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			if p.Variant == "sync" {
				err = c.Send(queueName, msg)
			} else {
				err = c.SendAsync(m, done)
			}
			if err != nil {
				return fmt.Errorf("send %d: %w", i, err)
			}
		}
		if p.Variant == "sync" {
			confirmed.Store(int64(n))
		}
		// Wait until the consumers' counts add up to N (and, async, every
		// confirm came back).
		for {
			var acked int64
			for i := range k {
				acked += int64(word64(slots, i*queueSlot).Load())
			}
			if acked > int64(n) {
				return fmt.Errorf("%d acks for %d messages", acked, n)
			}
			if acked == int64(n) && confirmed.Load() == int64(n) {
				break
			}
			if err := sendErr.get(); err != nil {
				return err
			}
			if err := w.check(&g); err != nil {
				return err
			}
			time.Sleep(50 * time.Microsecond)
		}
		if err := sendErr.get(); err != nil {
			return err
		}
		var end int64
		for i := range k {
			end = max(end, int64(word64(slots, i*queueSlot+8).Load()))
		}
		elapsed, sys = end-start, syscalls()-sys0
		if err := w.end(); err != nil {
			return err
		}
		// The router's view: all queued, none twice, none lost on the way.
		info, err := c.QueueInfo(queueName)
		if err != nil {
			return err
		}
		if info.Enqueued != uint64(n) || info.Redelivered+info.Expired+info.Dropped+info.DeadLettered+info.Rejected > 0 {
			return fmt.Errorf("queue counters off (%d sent): %+v", n, *info)
		}
		c.Close()
		reps, sysKids, err := w.finish()
		sys += sysKids
		if err != nil {
			return err
		}
		routerCPU = w.serverReps[0].CPUNs // the router, started first
		return checkAckedOnce(dir, reps, n)
	}()
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := throughputResult(name, int64(n), size, durationNS(elapsed))
	r.SyscallsPerOp = float64(sys) / float64(n)
	r.RouterNsPerMsg = float64(routerCPU) / float64(n)
	return r, nil
}

// checkAckedOnce merges the consumers' bitmaps (acked-<i>): every one of
// the n sequence numbers acked by exactly one consumer, and each
// consumer's count what its bitmap holds.
func checkAckedOnce(dir string, reps []*childReport, n int) error {
	all := make([]uint64, (n+63)/64)
	for i, rep := range reps {
		b, err := os.ReadFile(filepath.Join(dir, "acked-"+strconv.Itoa(i)))
		if err != nil {
			return err
		}
		if len(b) != 8*len(all) {
			return fmt.Errorf("consumer %d: bitmap of %d bytes, want %d", i, len(b), 8*len(all))
		}
		var count int64
		for j := range all {
			x := binary.LittleEndian.Uint64(b[8*j:])
			if dup := all[j] & x; dup != 0 {
				return fmt.Errorf("message %d acked by two consumers (consumer %d the second)", 64*j+bits.TrailingZeros64(dup), i)
			}
			all[j] |= x
			count += int64(bits.OnesCount64(x))
		}
		if count != rep.Count {
			return fmt.Errorf("consumer %d acked %d messages, its bitmap holds %d", i, rep.Count, count)
		}
	}
	for j, x := range all {
		want := ^uint64(0)
		if rest := n - 64*j; rest < 64 {
			want = 1<<rest - 1
		}
		if x != want {
			return fmt.Errorf("message %d never acked", 64*j+bits.TrailingZeros64(^x&want))
		}
	}
	return nil
}

// busQueueConsumer consumes the queue (prefetch a.Prefetch, a.Filter) and
// acks every delivery, checked against its bitmap of what it has acked
// (a.N sequence numbers), until the parent ends the run. After every ack
// it stores its count and the time in its slot of the shared page. It
// leaves its bitmap in acked-<index>.
func busQueueConsumer(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	name := "cons-" + strconv.Itoa(a.Index)
	slots, err := mapFile(filepath.Join(a.Path, queueSlotsFile), pageSize, false)
	if err != nil {
		return nil, err
	}
	defer unix.Munmap(slots)
	count, last := word64(slots, a.Index*queueSlot), word64(slots, a.Index*queueSlot+8)
	c, err := busConnect(a.Path, name, a.Idle, bus.WithRingSize(a.Capacity, a.Capacity),
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { fe.set(err) }))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	seen := make([]uint64, (a.N+63)/64)
	var n int64
	var sum uint64
	var w0, k0 uint64
	opts := []bus.ConsumeOption{bus.Prefetch(a.Prefetch)}
	if a.Filter != "" {
		opts = append(opts, bus.Filter(a.Filter))
	}
	_, err = c.Consume(queueName, func(m *bus.Msg) {
		if n == 0 {
			w0, k0 = ipcStats() // futex calls count from the first delivery
		}
		d := m.Data
		if len(d) != a.Size {
			fe.set(fmt.Errorf("message of %d bytes, want %d", len(d), a.Size))
			return
		}
		seq := binary.LittleEndian.Uint64(d)
		if seq >= uint64(a.N) {
			fe.set(fmt.Errorf("message %d out of range (%d sent)", seq, a.N))
			return
		}
		if m.Deliveries != 1 {
			fe.set(fmt.Errorf("message %d delivered %d times", seq, m.Deliveries))
			return
		}
		word, bit := seq/64, uint64(1)<<(seq%64)
		if seen[word]&bit != 0 {
			fe.set(fmt.Errorf("message %d delivered twice", seq))
			return
		}
		seen[word] |= bit
		sum ^= touchLines(d)
		if err := m.Ack(); err != nil {
			fe.set(fmt.Errorf("ack %d: %w", seq, err))
			return
		}
		n++
		last.Store(uint64(monoNow()))
		count.Store(uint64(n))
	}, opts...)
	if err == nil {
		err = writeReady(a.Path, name, "")
	}
	if err != nil {
		return nil, err
	}
	g := a.guard()
	if err := waitEnd(a.Path, &g, fe); err != nil {
		return nil, err
	}
	w, k := ipcStats()
	c.Close() // stops the dispatcher: n and seen are this goroutine's now
	b := make([]byte, 8*len(seen))
	for i, x := range seen {
		binary.LittleEndian.PutUint64(b[8*i:], x)
	}
	if err := os.WriteFile(filepath.Join(a.Path, "acked-"+strconv.Itoa(a.Index)), b, 0o600); err != nil {
		return nil, err
	}
	return &childReport{Count: n, Waits: w - w0, Wakes: k - k0, Note: strconv.FormatUint(sum, 16)}, nil
}

// sleepClock is CLOCK_MONOTONIC whose waits sleep in the kernel until the
// time (clock_nanosleep, absolute) instead of spinning. Timer slack, which
// lets the kernel wake a sleeper up to 50 us late, is per thread: lower it
// on a thread locked to the goroutine that waits.
var sleepClock = clock{now: monoNow, until: func(t int64) {
	ts := unix.NsecToTimespec(t)
	for monoNow() < t {
		if err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &ts, nil); err != nil && err != unix.EINTR {
			waitUntil(monoNow, t)
			return
		}
	}
}}

// waitEnd waits, bounded by g, for the parent's end of the run, or for fe
// to report an error.
func waitEnd(dir string, g *guard, fe *firstErr) error {
	path := filepath.Join(dir, "end")
	for {
		select {
		case <-fe.done:
			return fe.get()
		default:
		}
		if _, err := os.Stat(path); err == nil {
			return fe.get()
		}
		if err := g.check(); err != nil {
			return err
		}
		time.Sleep(readyPoll)
	}
}

// Priority (bus.queue.prio/X): the consumer is this process, prefetch 1;
// a sender child first fills the queue with p.Backlog priority-0 messages
// (all confirmed before the run starts), then, once told to go, sends N
// priority-9 messages with SendAsync at a fixed rate (p.Rate, default
// DefaultQueuePrioRate), each stamped (fanin.go's layout) with the
// CLOCK_MONOTONIC time it was meant to be sent at; it sleeps in the kernel
// between sends (sleepClock) rather than spinning for them, so that it
// takes no CPU from the consumer and the router. The handler records, for
// each priority-9 message, its arrival minus that intended time (send to
// handler, one way, no coordinated omission), checks their order, and Acks
// it.
//
// How the backlog stays: a priority-0 delivery the handler Naks straight
// back (Nak(0)), so it returns to the queue at once and the backlog never
// shrinks; the consumer keeps taking low-priority messages and giving them
// back the whole run, as fast as the router and it can (a busy consumer,
// as under a real backlog; about a million deliver/Nak cycles a second on
// the 2-vCPU development VM, the consumer and the router each keeping a
// CPU busy). Every priority-9 message thus arrives in a queue that holds
// p.Backlog priority-0 messages (all ready but the one in flight with the
// consumer) and must come out before all of them: with prefetch 1, the
// most it can wait for is the Nak of the one low-priority delivery in
// flight. Were it queued behind them, it would wait p.Backlog deliver/Nak
// cycles, or for ever: a Naked message goes back to its place by arrival,
// ahead of the later priority-9 one. At the end the queue's counters
// must show all p.Backlog still held, and nothing dropped, expired or
// refused.
//
// bus.queue.prio/empty is the same with no backlog: the router and the
// consumer idle between messages (backoff: they park), so its latency
// includes their wake-ups, which the busy backlog run does not pay; the
// backlog run pays instead for a host whose CPUs are both taken.

// BusQueuePrio measures the one-way latency of priority-9 messages
// through a queue holding p.Backlog priority-0 messages (0: empty).
func BusQueuePrio(p Params) (*Result, error) {
	name := "bus.queue.prio/empty"
	if p.Backlog > 0 {
		name = "bus.queue.prio/backlog"
	}
	if p.Rate <= 0 {
		p.Rate = DefaultQueuePrioRate
	}
	if p.Idle == "" {
		p.Idle = "backoff"
	}
	n, size := p.n(DefaultQueuePrioRate), p.size(64)
	if size < minStampSize || size > MaxStreamSize {
		return nil, fmt.Errorf("bench: %s: size %d out of range (%d .. %d)", name, size, minStampSize, MaxStreamSize)
	}
	coll := newCollector(1, n, size, true)
	var lows atomic.Int64
	err := withRouter(p, func(w *crew, g *guard, dir string) error {
		ring := ringFor(size)
		c, err := busConnect(dir, "consumer", p.Idle, bus.WithRingSize(ring, ring), bus.WithQueueTimeout(p.timeout()),
			bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { coll.fe.set(err) }))
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := c.DeclareQueue(queueName, bus.QueueConfig{MaxMsgs: p.Backlog + n + 1_000}); err != nil {
			return err
		}
		a := childArgs{N: n, Size: size, Idle: p.Idle, Capacity: ring, Rate: p.Rate, Count: p.Backlog}
		if err := w.start("bus-qsender", a, false); err != nil {
			return err
		}
		if _, err := w.await("qsender", g); err != nil {
			return err
		}
		_, err = c.Consume(queueName, func(m *bus.Msg) {
			var err error
			switch l := m.Priority.Level(); l {
			case prioHigh:
				coll.take(m.Data)
				err = m.Ack()
			case prioLow:
				lows.Add(1)
				err = m.Nak(0)
			default:
				err = fmt.Errorf("a message of priority %d", l)
			}
			if err != nil {
				coll.fe.set(err)
			}
		}, bus.Prefetch(1))
		if err != nil {
			return err
		}
		if err := w.markRouter(g); err != nil {
			return err
		}
		if err := w.goAhead(); err != nil {
			return err
		}
		if err := waitCollector(coll, w, g); err != nil {
			return err
		}
		info, err := c.QueueInfo(queueName)
		if err != nil {
			return err
		}
		switch {
		case p.Backlog > 0 && lows.Load() == 0:
			return errors.New("the backlog never reached the consumer")
		case info.Enqueued != uint64(p.Backlog+n) || info.Depth < p.Backlog ||
			info.Expired+info.Dropped+info.DeadLettered+info.Rejected > 0:
			return fmt.Errorf("queue counters off (backlog %d, %d sent): %+v", p.Backlog, n, *info)
		}
		if err := w.end(); err != nil {
			return err
		}
		c.Close()
		reps, _, err := w.finish()
		if err == nil && reps[0].Count != int64(n) {
			err = fmt.Errorf("sender sent %d of %d", reps[0].Count, n)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := latencyResult(name, coll.lat)
	r.Size, r.Rate = size, p.Rate
	return r, nil
}

// busQueueSender fills the queue with a.Count priority-0 messages (index
// 1 in the stamp), waits for their confirms, says it is ready, and once
// told to go sends a.N priority-9 ones (index 0), paced at a.Rate and
// stamped as publishLoop does, waiting for their confirms at the end. A
// confirm that is not OK fails it.
func busQueueSender(a *childArgs) (*childReport, error) {
	g := a.guard()
	fe := newFirstErr()
	c, err := busConnect(a.Path, "qsender", a.Idle, bus.WithPublishTimeout(g.left()), bus.WithRingSize(a.Capacity, a.Capacity),
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) { fe.set(err) }))
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var confirmed atomic.Int64
	done := func(err error) {
		if err != nil {
			fe.set(fmt.Errorf("send confirm: %w", err))
		}
		confirmed.Add(1)
	}
	waitConfirms := func(want int64) error {
		for confirmed.Load() < want {
			if err := fe.get(); err != nil {
				return err
			}
			if err := g.check(); err != nil {
				return err
			}
			time.Sleep(100 * time.Microsecond)
		}
		return fe.get()
	}
	low := &bus.Msg{Topic: queueName, Data: make([]byte, a.Size), Priority: bus.Prio(prioLow)}
	binary.LittleEndian.PutUint64(low.Data[8:], 1)
	for i := range a.Count {
		binary.LittleEndian.PutUint64(low.Data, uint64(i))
		if err := c.SendAsync(low, done); err != nil {
			return nil, fmt.Errorf("backlog %d: %w", i, err)
		}
	}
	if err := waitConfirms(int64(a.Count)); err != nil {
		return nil, err
	}
	if err := writeReady(a.Path, "qsender", ""); err != nil {
		return nil, err
	}
	if err := waitGo(a.Path, &g); err != nil {
		return nil, err
	}
	// Paced like publishLoop, but asleep between sends (sleepClock): with
	// a backlog the consumer and the router keep both CPUs of a small host
	// busy, and a sender spinning for its next send would take CPU time
	// from them and be descheduled for whole time slices.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) // wake on time, not up to 50 us late
	pc, err := newPacer(a.Rate, sleepClock)
	if err != nil {
		return nil, err
	}
	high := &bus.Msg{Topic: queueName, Priority: bus.Prio(prioHigh), Data: make([]byte, a.Size)}
	binary.LittleEndian.PutUint64(high.Data[8:], uint64(a.Index))
	for i := range a.N {
		binary.LittleEndian.PutUint64(high.Data, uint64(i))
		binary.LittleEndian.PutUint64(high.Data[16:], uint64(pc.wait()))
		if err := c.SendAsync(high, done); err != nil {
			return nil, fmt.Errorf("send %d: %w", i, err)
		}
	}
	if err := waitConfirms(int64(a.Count + a.N)); err != nil {
		return nil, err
	}
	return &childReport{Count: int64(a.N)}, nil
}
