package ring

// Crash tests: producer and consumer processes are killed with SIGKILL at the
// worst moments, and the ring must neither lose, tear nor invent a record,
// nor stay wedged. The harness is in xproc_test.go.

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// TestKillProducerBetweenClaimAndCommit kills an SPSC producer process
// between Claim and Commit. Its half-written record must never reach the
// consumer, which gets exactly the K committed records and is not wedged.
// While the producer lives nobody else may attach as producer; once it is
// dead a new producer takes over, counts the abandoned claim, and its
// records follow the K in order. In "drained" the consumer has read all K
// when the producer dies; in "backlog" a few are still unread, so the new
// producer must find where they end and not write over them; in "open" the
// claim was opened inside a batch and the batch flushed around it.
func TestKillProducerBetweenClaimAndCommit(t *testing.T) {
	for _, tc := range []struct {
		name string
		left int  // committed records still unread when the producer dies
		open bool // xpArgs.Open
	}{
		{"drained", 0, false},
		{"backlog", 8, false}, // 8 records of <= 324 bytes, a wrap's padding and the claim fit in 4 KiB
		{"open", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) { testKillProducerMidClaim(t, tc.left, tc.open) })
	}
}

func testKillProducerMidClaim(t *testing.T, left int, open bool) {
	const claimLen = 100
	k, m := xpScale(5_000, 500), xpScale(5_000, 500)
	dl := xpDeadline(t)
	seg, a := xpSPSCSegment(t, 4<<10, xpNearWrap(64<<10))
	b := seg.Data()
	g := xpNewGroup(t)
	c, err := NewConsumer(b)
	if err != nil {
		t.Fatal(err)
	}

	a.Stream, a.N, a.Batch, a.Claim, a.Open, a.Seed = 1, k, 4, claimLen, open, rand.Uint64()
	child := xpStart(t, "spsc-produce", a)
	chk := &xpChecker{stream: 1, switches: true}
	if err := xpReadSPSC(c, chk, chk.upTo(k-left), k-left, xpStopAt(dl, child.exited), nil); err != nil {
		t.Fatalf("consumer: %v; %v stderr:\n%s", err, child, child.errb.String())
	}
	child.expect(t, "claimed", dl)
	if left == 0 {
		// Everything before the claim is published now: a read must find
		// nothing more, and the claimed record must not look ready.
		if n := c.Read(chk.handle, 0); n != 0 || chk.err != nil || c.Ready() {
			t.Fatalf("consumer got %d records past the %d committed (ready: %v, err: %v)", n, k, c.Ready(), chk.err)
		}
	} else if !c.Ready() {
		t.Fatalf("%d committed records unread, but the consumer sees none ready", left)
	}
	if _, err := NewProducer(b); !errors.Is(err, ErrAttached) {
		t.Fatalf("producer attach while the owner lives: %v, want ErrAttached", err)
	}

	child.mustKill(t)
	if left == 0 {
		if n := c.Read(chk.handle, 0); n != 0 || c.Err() != nil || chk.err != nil {
			t.Fatalf("after the kill the consumer got %d records (err %v, %v), want none", n, c.Err(), chk.err)
		}
	}
	p, err := NewProducer(b)
	if err != nil {
		t.Fatalf("producer attach after the owner died: %v", err)
	}
	if s := p.Stats(); s.RecoveredClaims != 1 || s.RecoveredBytes != HeaderLength+claimLen || s.ProducerAttach != 2 {
		t.Fatalf("stats after takeover %+v: want 1 recovered claim of %d bytes, 2 producer attaches", s, HeaderLength+claimLen)
	}
	w := &xpSPSCWriter{p: p, stream: 2, batch: 4, rng: rand.New(rand.NewPCG(a.Seed, 9)), stop: xpStopAt(dl, g.halted)}
	errc := g.run(func() error { return w.write(0, m) })
	if err := xpReadSPSC(c, chk, chk.upTo(k+m), 0, xpStopAt(dl), nil); err != nil {
		t.Fatalf("consumer after takeover: %v", err)
	}
	xpWait(t, "new producer", errc, dl)
	if n := c.Read(chk.handle, 0); n != 0 || chk.count[1] != k || chk.count[2] != m {
		t.Fatalf("consumer got %v (then %d more), want %d of stream 1 then %d of stream 2", chk.count, n, k, m)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKillProducerAtRandomMoments kills streaming SPSC producer processes at
// random moments, each new one taking over from the dead one; then the
// parent takes over for good. The consumer, reading all along, must see an
// intact, gap-free prefix of each killed producer's stream, in order, then
// all of the last producer's records.
func TestKillProducerAtRandomMoments(t *testing.T) {
	kills, m := xpScale(20, 5), xpScale(5_000, 500)
	dl := xpDeadline(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	seg, a := xpSPSCSegment(t, 4<<10, xpNearWrap(16<<10))
	b := seg.Data()
	g := xpNewGroup(t)
	c, err := NewConsumer(b)
	if err != nil {
		t.Fatal(err)
	}
	final := uint32(kills + 1)
	chk := &xpChecker{stream: 1, switches: true}
	errc := g.run(func() error {
		return xpReadSPSC(c, chk, func() bool { return chk.count[final] >= m }, 0, xpStopAt(dl, g.halted), nil)
	})

	for i := 1; i <= kills; i++ {
		pa := a
		pa.Stream, pa.N, pa.Batch, pa.Seed = uint32(i), 1<<40, 8, rng.Uint64()
		if i%2 == 1 {
			pa.Hold = 50 * time.Microsecond // most of the time inside a claim
		}
		child := xpStart(t, "spsc-produce", pa)
		child.expect(t, "ready", dl) // attached: the previous owner counted as dead
		time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
		child.mustKill(t)
	}
	p, err := NewProducer(b)
	if err != nil {
		t.Fatalf("producer attach after %d kills: %v", kills, err)
	}
	s := p.Stats()
	t.Logf("%d kills left %d abandoned claims (%d bytes)", kills, s.RecoveredClaims, s.RecoveredBytes)
	if s.RecoveredClaims > uint64(kills) || s.ProducerAttach != uint64(kills+1) {
		t.Fatalf("stats %+v: want at most %d recovered claims and %d producer attaches", s, kills, kills+1)
	}
	w := &xpSPSCWriter{p: p, stream: final, batch: 8, rng: rand.New(rand.NewPCG(seed, 2)), stop: xpStopAt(dl, g.halted)}
	if err := w.write(0, m); err != nil {
		t.Fatalf("producer after takeover: %v", err)
	}
	xpWait(t, "consumer", errc, dl)
	t.Logf("records per producer: %v", chk.count)
	if n := c.Read(chk.handle, 0); n != 0 || chk.count[final] != m {
		t.Fatalf("consumer got %d of the last producer's records (then %d more), want %d", chk.count[final], n, m)
	}
}

// TestKillMPMCProducerMidClaim kills an MPMC producer process holding a
// claim, with another producer's records queued behind it. Consumers must
// revoke the dead claim and deliver every other record. While the owner
// lives the claim must hold (the stuck timeout is a minute); once it is dead,
// the consumers see it dead and recover the slot long before that minute
// (the test's own deadline comes first), which proves death detection did it.
func TestKillMPMCProducerMidClaim(t *testing.T) {
	const slots = 16
	n := xpScale(20_000, 2_000)
	dl := xpDeadline(t)
	start := uint64(1 << 56) // the stuck claim sits where the owner word's 56-bit position field wraps to 0
	seg, a := xpMPMCSegment(t, slots, start)
	b := seg.Data()
	g := xpNewGroup(t)

	a.Claim = 100
	child := xpStart(t, "mpmc-claim", a)
	if pos := child.expect(t, "claimed", dl); pos != strconv.FormatUint(start, 10) {
		t.Fatalf("child claimed position %s, want %d", pos, start)
	}
	p, err := NewMPMCProducer(b)
	if err != nil {
		t.Fatal(err)
	}
	errp := g.run(func() error { return xpWriteMPMC(p, 2, n, xpStopAt(dl, g.halted)) })
	var got atomic.Int64
	var polls [2]atomic.Int64 // empty polls per consumer
	sinks := make([]*xpSink, 2)
	errcs := make([]<-chan error, 2)
	for i := range sinks {
		c, err := NewMPMCConsumer(b, WithStuckTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		s := &xpSink{}
		sinks[i] = s
		h := func(typ, flags uint16, pl []byte) { s.handle(typ, flags, pl); got.Add(1) }
		done := func() bool { polls[i].Add(1); return got.Load() >= int64(n) }
		errcs[i] = g.run(func() error { return xpReadMPMC(c, h, done, xpStopAt(dl, g.halted)) })
	}

	// The ring fills up behind the live claim; the consumers poll it over
	// and over, and must not take it.
	xpPoll(t, "ring full behind the claim", dl, func() bool { return xpMPMCStats(t, b).Enqueued-start == slots })
	before := [2]int64{polls[0].Load(), polls[1].Load()}
	time.Sleep(20 * time.Millisecond) // many liveness checks' worth (at most one per ms)
	xpPoll(t, "consumers poll the stuck claim", dl, func() bool {
		return polls[0].Load() > before[0]+1000 && polls[1].Load() > before[1]+1000
	})
	if s := xpMPMCStats(t, b); got.Load() != 0 || s.RecoveredClaims != 0 {
		t.Fatalf("while its owner lives: %d records read past the claim, %d claims recovered; want 0, 0", got.Load(), s.RecoveredClaims)
	}

	child.mustKill(t)
	for i, errc := range errcs {
		xpWait(t, "consumer "+strconv.Itoa(i)+" (a dead owner's claim must be revoked well before the 1-minute stuck timeout)", errc, dl)
	}
	xpWait(t, "producer", errp, dl)
	for i, s := range sinks {
		if s.err != nil {
			t.Fatalf("consumer %d: %v", i, s.err)
		}
	}
	xpCheckExactlyOnce(t, [][]uint64{sinks[0].got, sinks[1].got}, map[uint32]int{2: n})
	if s := xpMPMCStats(t, b); s.RecoveredClaims != 1 || s.Enqueued-start != uint64(n+1) || s.Dequeued != s.Enqueued {
		t.Fatalf("stats %+v: want 1 recovered claim and %d positions used from %d, all dequeued", s, n+1, start)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestKillConsumer kills SPSC consumer processes and checks the hand-over
// to the next consumer. While a consumer lives nobody else may attach as
// consumer; once it is dead the next one attaches and starts exactly at the
// head the dead one last published. Records from that head on may be seen
// twice (at-least-once), but none may be skipped or torn.
func TestKillConsumer(t *testing.T) {
	t.Run("random", testKillConsumerRandom)
	t.Run("mid-read", testKillConsumerMidRead)
}

// testKillConsumerRandom kills consumers at random moments, one after
// another, while the parent keeps producing; then the parent takes over as
// consumer and the producer stops. No record before a head a consumer said
// it had published may be seen again.
func testKillConsumerRandom(t *testing.T) {
	kills, most := xpScale(5, 2), xpScale(2_000, 500)
	dl := xpDeadline(t)
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	seg, a := xpSPSCSegment(t, 4<<10, xpNearWrap(128<<10))
	b := seg.Data()
	g := xpNewGroup(t)

	// The producer writes until told to stop, so that every consumer finds
	// records to read however fast the one before it was.
	p, err := NewProducer(b)
	if err != nil {
		t.Fatal(err)
	}
	var enough atomic.Bool
	var starts []uint64 // where each record starts; read once the producer is done
	w := &xpSPSCWriter{
		p: p, stream: 1, batch: 8, rng: rand.New(rand.NewPCG(seed, 2)), stop: xpStopAt(dl, g.halted, enough.Load),
		at: func(_, pos uint64) { starts = append(starts, pos) },
	}
	errp := g.run(func() error {
		if err := w.write(0, 1<<22); err != nil && !enough.Load() {
			return err
		}
		return nil
	})

	// One dead consumer's hand-over to the next.
	type handover struct {
		head  uint64 // the published head the consumer attached at
		first uint64 // the seq it got first
		acked int    // records it said it had consumed, head published
	}
	var hs []handover
	for i := 0; i < kills; i++ {
		head := xpSPSCStats(t, b).Head
		ca := a
		ca.Stream = 1 // N == 0: from the head on, until killed
		child := xpStart(t, "spsc-consume", ca)
		child.expect(t, "ready", dl)
		if _, err := NewConsumer(b); !errors.Is(err, ErrAttached) {
			t.Fatalf("consumer attach while the owner lives: %v, want ErrAttached", err)
		}
		first := child.expectInt(t, "first", dl)
		want := 64 + rng.IntN(most)
		for got := 0; got < want; got = child.expectInt(t, "progress", dl) {
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
		child.mustKill(t)
		hs = append(hs, handover{head: head, first: uint64(first), acked: child.lastInt("progress")})
	}
	if bell, err := ipc.NewDoorbell(b[spscConsumerBellOffset:]); err == nil {
		t.Logf("consumer doorbell: %d waiters recorded with no consumer alive", bell.Waiters())
	}
	head := xpSPSCStats(t, b).Head
	c, err := NewConsumer(b)
	if err != nil {
		t.Fatalf("consumer attach after the owner died: %v", err)
	}
	if c.Position() != head {
		t.Fatalf("new consumer at position %d, want the published head %d", c.Position(), head)
	}
	chk := &xpChecker{stream: 1, anyFirst: true}
	if err := xpReadSPSC(c, chk, chk.upTo(1), 0, xpStopAt(dl), nil); err != nil {
		t.Fatalf("last consumer: %v", err)
	}
	enough.Store(true)
	xpWait(t, "producer", errp, dl)
	n := len(starts)
	if err := xpReadSPSC(c, chk, func() bool { return chk.next == uint64(n) }, 0, xpStopAt(dl), nil); err != nil {
		t.Fatalf("last consumer: %v", err)
	}

	seqAt := func(h uint64) uint64 { return xpSeqAt(starts, h) }
	hs = append(hs, handover{head: head, first: chk.first, acked: chk.n})
	for i, h := range hs {
		if want := seqAt(h.head); h.first != want {
			t.Errorf("consumer %d started at seq %d, want %d: the first record at the head %d it attached at", i, h.first, want, h.head)
		}
		if i+1 < len(hs) {
			if next := hs[i+1].first; next < h.first+uint64(h.acked) {
				t.Errorf("consumer %d said it had consumed seq %d..%d, yet the next started at seq %d", i, h.first, h.first+uint64(h.acked)-1, next)
			}
		}
	}
	if want := n - int(chk.first); chk.n != want {
		t.Errorf("last consumer got %d records from seq %d, want %d", chk.n, chk.first, want)
	}
	t.Logf("hand-overs: %+v", hs)
}

// testKillConsumerMidRead kills a consumer inside its handler, in the middle
// of a pass over a full ring, where a Read may have handed part of the pass
// back already: the next consumer must start at a record boundary, at the
// head published, with nothing skipped.
func testKillConsumerMidRead(t *testing.T) {
	m := xpScale(5_000, 500)
	dl := xpDeadline(t)
	start := xpNearWrap(2 << 10) // the positions wrap inside the pass
	seg, a := xpSPSCSegment(t, 4<<10, start)
	b := seg.Data()
	g := xpNewGroup(t)
	p, err := NewProducer(b)
	if err != nil {
		t.Fatal(err)
	}
	var starts []uint64 // where each record starts; read once the producer is done
	at := func(_, pos uint64) { starts = append(starts, pos) }
	w := &xpSPSCWriter{p: p, stream: 1, batch: 4, rng: rand.New(rand.NewPCG(rand.Uint64(), 0)), stop: xpStopAt(dl, g.halted), at: at}

	// Fill the ring, so that the consumer's first read is one long pass.
	filled := uint64(0)
	for ; filled < 1_000; filled++ {
		size := xpRecSize(1, filled)
		buf, err := p.Claim(xpType, size)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		xpPutRecord(buf, 1, filled)
		at(filled, p.tail-uint64(align(HeaderLength+size, RecordAlignment)))
		p.Commit()
	}
	a.Stream, a.Hang, a.HangAt = 1, true, filled-1
	child := xpStart(t, "spsc-consume", a)
	child.expect(t, "hung", dl)
	child.mustKill(t)
	head := xpSPSCStats(t, b).Head
	t.Logf("the consumer died reading %d records (%d bytes) after handing back %d bytes", filled, p.tail-start, head-start)

	c, err := NewConsumer(b)
	if err != nil {
		t.Fatalf("consumer attach after the owner died: %v", err)
	}
	errp := g.run(func() error { return w.write(filled, m) })
	end := filled + uint64(m)
	chk := &xpChecker{stream: 1, anyFirst: true}
	if err := xpReadSPSC(c, chk, func() bool { return chk.n > 0 && chk.next == end }, 0, xpStopAt(dl), nil); err != nil {
		t.Fatalf("next consumer: %v", err)
	}
	xpWait(t, "producer", errp, dl)
	if want := xpSeqAt(starts, head); chk.first != want || chk.n != int(end-want) {
		t.Fatalf("next consumer got seq %d..%d, want %d..%d (from the published head %d)", chk.first, chk.next-1, want, end-1, head)
	}
}

// xpSeqAt is the first record starting at or after position h, given where
// each record starts (positions compared modulo 2^64).
func xpSeqAt(starts []uint64, h uint64) uint64 {
	for seq, pos := range starts {
		if int64(pos-h) >= 0 {
			return uint64(seq)
		}
	}
	return uint64(len(starts))
}

// TestKillMPMCConsumerInHandler kills an MPMC consumer process inside its
// handler, holding the rest of a run, while the parent's producer and
// another consumer go on. The slots it held wedge the ring a lap later; while the
// child lives the producer must wait (a live consumer is never robbed), and
// once it is dead the producer frees them. The records it held but never
// finished are lost, and only those: every record is delivered at most
// once, all of them but that run's tail exactly once, and RecoveredReads
// counts the run's slots still held at the kill.
func TestKillMPMCConsumerInHandler(t *testing.T) {
	const slots = 16
	n := xpScale(20_000, 2_000)
	dl := xpDeadline(t)
	start := uint64(1<<runPosBits - 3*slots) // runs cross the run word's 57-bit position wrap
	seg, a := xpMPMCSegment(t, slots, start)
	b := seg.Data()
	g := xpNewGroup(t)

	a.Hang, a.HangAt = true, uint64(n/4)
	child := xpStart(t, "mpmc-consume", a)
	child.expect(t, "ready", dl)
	p, err := NewMPMCProducer(b)
	if err != nil {
		t.Fatal(err)
	}
	var written atomic.Bool
	errp := g.run(func() error {
		defer written.Store(true)
		return xpWriteMPMC(p, 1, n, xpStopAt(dl, g.halted))
	})
	// The child alone reads up to HangAt, so that it surely gets there; then
	// the parent's consumer joins and takes everything behind its run.
	hung := child.expectInt(t, "hung", dl)
	if hung != n/4 {
		t.Fatalf("the child hung at seq %d, want %d", hung, n/4)
	}
	c, err := NewMPMCConsumer(b)
	if err != nil {
		t.Fatal(err)
	}
	sink := &xpSink{}
	drained := func() bool {
		if !written.Load() { // first: the stats must be read after the last write
			return false
		}
		s := xpMPMCStats(t, b)
		return s.Dequeued == s.Enqueued
	}
	errc := g.run(func() error { return xpReadMPMC(c, sink.handle, drained, xpStopAt(dl, g.halted)) })
	// The producer fills the ring up to the slot the child holds, the other
	// consumer takes everything else, and there they stay.
	wedged := start + uint64(hung) + slots
	xpPoll(t, "ring wedged on the child's slot", dl, func() bool {
		s := xpMPMCStats(t, b)
		return s.Enqueued == wedged && s.Dequeued == wedged
	})
	time.Sleep(20 * time.Millisecond) // many of the producer's liveness checks (at most one per ms)
	if s := xpMPMCStats(t, b); s.RecoveredReads != 0 || s.Enqueued != wedged {
		t.Fatalf("while the child lives: stats %+v; want nothing recovered, enqueue position still %d", s, wedged)
	}

	child.mustKill(t)
	xpWait(t, "producer (the dead consumer's slots must be freed)", errp, dl)
	xpWait(t, "consumer", errc, dl)
	if sink.err != nil {
		t.Fatalf("consumer: %v", sink.err)
	}
	s := xpMPMCStats(t, b)
	lost := int(s.RecoveredReads)
	t.Logf("the child hung at seq %d; %d slots recovered; the parent's consumer got %d records", hung, lost, len(sink.got))
	if lost < 1 || lost > maxRun || s.Enqueued-start != uint64(n) || s.Dequeued != s.Enqueued {
		t.Fatalf("stats %+v: want 1..%d recovered reads and %d records through from %d", s, maxRun, n, start)
	}
	// The child was handed seqs up to hung; its run went on to hung+lost-1.
	var childGot []uint64
	for _, line := range child.out.snapshot() {
		if w, rest, _ := strings.Cut(line, " "); w == "got" {
			v, err := strconv.ParseUint(rest, 10, 64)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			childGot = append(childGot, uint64(1)<<48|v)
		}
	}
	if len(childGot) == 0 || childGot[len(childGot)-1]&(1<<48-1) != uint64(hung) {
		t.Fatalf("the child's last record was not the one it hung in (%d)", hung)
	}
	marks := make([]int, n)
	for _, list := range [][]uint64{childGot, sink.got} {
		for _, e := range list {
			if e>>48 != 1 || e&(1<<48-1) >= uint64(n) {
				t.Fatalf("record %#x was never written", e)
			}
			marks[e&(1<<48-1)]++
		}
	}
	bad := 0
	for seq, m := range marks {
		inLost := seq > hung && seq < hung+lost
		if want := map[bool]int{true: 0, false: 1}[inLost]; m != want {
			if bad++; bad <= 10 {
				t.Errorf("seq %d delivered %d times, want %d (lost run: seqs %d..%d)", seq, m, want, hung+1, hung+lost-1)
			}
		}
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}
