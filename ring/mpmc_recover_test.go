package ring

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// Consumer crash safety in one process: a consumer "dies" holding a run
// (its goroutine exits inside the handler, and the liveness check reports
// its identity dead); cross-process kills are in crash_test.go.

// refusals is enough refused claims in a row, well spaced, for a producer to
// have looked at the consumer table several times (it looks after
// stuckCheckEvery refusals in a row, at most once a millisecond).
const refusals = 4 * stuckCheckEvery

// mustStayFull tries to write refusals times, sleeping between tries; every
// try must fail with ErrFull.
func mustStayFull(t *testing.T, p *MPMCProducer, why string) {
	t.Helper()
	for i := 0; i < refusals; i++ {
		if err := p.Write(9, []byte{0xEE}); !errors.Is(err, ErrFull) {
			t.Fatalf("%s: write %d: %v, want ErrFull", why, i, err)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// writeSoon writes payload, retrying on ErrFull for up to 10 s.
func writeSoon(t *testing.T, p *MPMCProducer, payload []byte) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		err := p.Write(1, payload)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrFull) || time.Now().After(deadline) {
			t.Fatalf("write %v after %d tries: %v", payload, i+1, err)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// dieInHandler makes c claim what is there and exit its goroutine inside
// the handler of the first record, like a process killed there. It returns
// that record's first byte.
func dieInHandler(t *testing.T, c *MPMCConsumer) byte {
	t.Helper()
	got := make(chan byte, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Read(func(_, _ uint16, pl []byte) {
			got <- pl[0]
			runtime.Goexit()
		}, 0)
	}()
	<-done
	select {
	case v := <-got:
		return v
	default:
		t.Fatal("the consumer found no record to die in")
		return 0
	}
}

// collect reads everything there is with c and returns the first bytes.
func collect(c *MPMCConsumer) []byte {
	var got []byte
	c.Read(func(_, _ uint16, pl []byte) { got = append(got, pl[0]) }, 0)
	return got
}

func checkBytes(t *testing.T, what string, got []byte, want ...byte) {
	t.Helper()
	if string(got) != string(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// TestMPMCDeadConsumerRecovered is the wedge: a consumer dies holding a
// record. Before the fix the producer could write 3 more records into the
// 4-slot ring and then got ErrFull forever. While the consumer's process
// counts as alive it must not be robbed; once it is dead the producer frees
// its slot, the record is lost and counted, and the ring takes full laps.
func TestMPMCDeadConsumerRecovered(t *testing.T) {
	b := newMPMC(t, 4, 16)
	live := liveSet{procA: true, procB: true, procC: true}
	p, _ := NewMPMCProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	dead, _ := NewMPMCConsumer(b, WithIdentity(procB), WithLiveness(live.alive))
	other, _ := NewMPMCConsumer(b, WithIdentity(procC), WithLiveness(live.alive))

	p.Write(1, []byte{0})
	if v := dieInHandler(t, dead); v != 0 {
		t.Fatalf("died in record %d, want 0", v)
	}
	for i := byte(1); i <= 3; i++ {
		if err := p.Write(1, []byte{i}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	mustStayFull(t, p, "ring full, the holder alive")
	checkBytes(t, "the other consumer", collect(other), 1, 2, 3)
	mustStayFull(t, p, "the holder hung but alive")
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("recovered %d reads from a live consumer", s.RecoveredReads)
	}

	live[procB] = false
	writeSoon(t, p, []byte{4})
	if s := p.Stats(); s.RecoveredReads != 1 || s.Full == 0 {
		t.Fatalf("stats %+v: want 1 recovered read", s)
	}
	for lap := 0; lap < 3; lap++ {
		for i := byte(0); i < 3; i++ {
			if err := p.Write(1, []byte{5 + i}); err != nil {
				t.Fatalf("lap %d write %d: %v", lap, i, err)
			}
		}
		collect(other)
	}
	if s := p.Stats(); s.RecoveredReads != 1 || s.Dequeued != s.Enqueued {
		t.Fatalf("stats %+v: want 1 recovered read, all read", s)
	}
}

// TestMPMCSlowConsumerNotRobbed: a live consumer whose handler blocks holds
// its whole run; producers get ErrFull until it is done, then every record
// it held was handed to it exactly once and nothing was recovered.
func TestMPMCSlowConsumerNotRobbed(t *testing.T) {
	b := newMPMC(t, 4, 16)
	live := liveSet{procA: true, procB: true, procC: true}
	p, _ := NewMPMCProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	slow, _ := NewMPMCConsumer(b, WithIdentity(procB), WithLiveness(live.alive))
	other, _ := NewMPMCConsumer(b, WithIdentity(procC), WithLiveness(live.alive))
	for i := byte(0); i < 4; i++ {
		p.Write(1, []byte{i})
	}
	entered, release := make(chan struct{}), make(chan struct{})
	var got []byte
	done := make(chan int)
	go func() {
		done <- slow.Read(func(_, _ uint16, pl []byte) {
			if len(got) == 0 {
				close(entered)
				<-release
			}
			got = append(got, pl[0])
		}, 0)
	}()
	<-entered
	mustStayFull(t, p, "the slow consumer holds every slot")
	if n := len(collect(other)); n != 0 {
		t.Fatalf("another consumer got %d records held by the slow one", n)
	}
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("recovered %d reads from a live consumer", s.RecoveredReads)
	}
	close(release)
	if n := <-done; n != 4 {
		t.Fatalf("slow consumer read %d, want 4", n)
	}
	checkBytes(t, "slow consumer", got, 0, 1, 2, 3)
	for i := byte(4); i < 8; i++ {
		if err := p.Write(1, []byte{i}); err != nil {
			t.Fatalf("write %d after the slow consumer finished: %v", i, err)
		}
	}
	checkBytes(t, "other consumer", collect(other), 4, 5, 6, 7)
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("stats %+v: want nothing recovered", s)
	}
}

// TestMPMCStaleIntentDoesNotRob: a dead consumer's run word covers slots a
// live consumer really holds (the dead one wrote its intent, lost the CAS to
// the live one, and died). Neither a producer nor a consumer attaching
// over the dead entry may free them; once the live one is done, the dead
// entry is taken over.
func TestMPMCStaleIntentDoesNotRob(t *testing.T) {
	b := newMPMC(t, 4, 16)
	live := liveSet{procA: true, procB: true, procC: true}
	p, _ := NewMPMCProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	holder, _ := NewMPMCConsumer(b, WithIdentity(procB), WithLiveness(live.alive))
	loser, _ := NewMPMCConsumer(b, WithIdentity(procC), WithLiveness(live.alive))
	p.Write(1, []byte{0})
	p.Write(1, []byte{1})
	entered, release := make(chan struct{}), make(chan struct{})
	var got []byte
	done := make(chan struct{})
	go func() {
		defer close(done)
		holder.Read(func(_, _ uint16, pl []byte) {
			if len(got) == 0 {
				close(entered)
				<-release
			}
			got = append(got, pl[0])
		}, 2)
	}()
	<-entered
	storeRelaxed(loser.run, packRun(0, 2)) // its intent for the same run ...
	live[procC] = false                    // ... and it died
	p.Write(1, []byte{2})
	p.Write(1, []byte{3})
	mustStayFull(t, p, "a dead consumer's stale intent over a live holder's run")
	procD := ipc.Process{PID: 1_000_004, StartTime: 44}
	live[procD] = true
	c, err := NewMPMCConsumer(b, WithIdentity(procD), WithLiveness(live.alive))
	if err != nil {
		t.Fatal(err)
	}
	if c.index == loser.index {
		t.Fatal("a consumer took over the dead entry while its run word covers a live consumer's run")
	}
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("recovered %d reads", s.RecoveredReads)
	}
	close(release)
	<-done
	checkBytes(t, "holder", got, 0, 1)
	c.Close()
	c, err = NewMPMCConsumer(b, WithIdentity(procD), WithLiveness(live.alive))
	if err != nil || c.index != loser.index {
		t.Fatalf("attach after the holder finished: entry %d, %v; want the dead entry %d", c.index, err, loser.index)
	}
	writeSoon(t, p, []byte{4})
	checkBytes(t, "new consumer", collect(c), 2, 3, 4)
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("stats %+v: want nothing recovered", s)
	}
}

// TestMPMCConsumerTakeoverRecovers: a consumer attaching over a dead one's
// entry frees the run the dead one held before it overwrites its run word;
// producers go on without having to recover anything themselves.
func TestMPMCConsumerTakeoverRecovers(t *testing.T) {
	b := newMPMC(t, 4, 16)
	live := liveSet{procA: true, procB: true, procC: true}
	p, _ := NewMPMCProducer(b, WithIdentity(procA), WithLiveness(live.alive))
	dead, _ := NewMPMCConsumer(b, WithIdentity(procB), WithLiveness(live.alive))
	for i := byte(0); i < 3; i++ {
		p.Write(1, []byte{i})
	}
	dieInHandler(t, dead) // holding all three
	live[procB] = false
	c, err := NewMPMCConsumer(b, WithIdentity(procC), WithLiveness(live.alive))
	if err != nil {
		t.Fatal(err)
	}
	if c.index != dead.index {
		t.Fatalf("took entry %d, want the dead consumer's %d", c.index, dead.index)
	}
	if s := p.Stats(); s.RecoveredReads != 3 {
		t.Fatalf("stats %+v: want the 3 held records recovered", s)
	}
	for i := byte(3); i < 7; i++ {
		if err := p.Write(1, []byte{i}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	checkBytes(t, "new consumer", collect(c), 3, 4, 5, 6)
}

// TestMPMCConsumerTable: entries are attached and released; a closed
// consumer reads nothing; Close from a handler waits for the run to end.
func TestMPMCConsumerTable(t *testing.T) {
	b := newMPMC(t, 8, 16)
	r := newRegion(b)
	cs := make([]*MPMCConsumer, MaxConsumers)
	for i := range cs {
		c, err := NewMPMCConsumer(b)
		if err != nil {
			t.Fatalf("consumer %d: %v", i, err)
		}
		cs[i] = c
	}
	if _, err := NewMPMCConsumer(b); !errors.Is(err, ErrTooManyConsumers) {
		t.Fatalf("consumer %d: %v, want ErrTooManyConsumers", MaxConsumers+1, err)
	}
	cs[7].Close()
	c, err := NewMPMCConsumer(b)
	if err != nil || c.index != 7 {
		t.Fatalf("attach after a close: entry %d, %v; want entry 7", c.index, err)
	}
	for _, c := range cs {
		c.Close()
	}

	p, _ := NewMPMCProducer(b)
	for i := byte(0); i < 3; i++ {
		p.Write(1, []byte{i})
	}
	var got []byte
	n := c.Read(func(_, _ uint16, pl []byte) {
		if len(got) == 0 {
			c.Close()
		}
		got = append(got, pl[0])
	}, 0)
	if n != 3 {
		t.Fatalf("read %d with a Close in the first handler, want the run of 3", n)
	}
	checkBytes(t, "closing consumer", got, 0, 1, 2)
	p.Write(1, []byte{3})
	if n := c.Read(func(uint16, uint16, []byte) {}, 0); n != 0 {
		t.Fatalf("closed consumer read %d", n)
	}
	off := consumerEntry(c.index)
	if o, w := r.load64(off+consumerOwnerOffset), r.load64(off+consumerRunOffset); o != 0 || w != 0 {
		t.Fatalf("closed consumer's entry: owner %#x run %#x, want both 0", o, w)
	}
	if s := p.Stats(); s.Dequeued != 3 || s.RecoveredReads != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestMPMCHandlerPanic: a handler that panics drops its record; a recovered
// panic leaves the rest of the run to the next Read, and the ring is not
// wedged.
func TestMPMCHandlerPanic(t *testing.T) {
	b := newMPMC(t, 4, 16)
	p, _ := NewMPMCProducer(b)
	c, _ := NewMPMCConsumer(b)
	for i := byte(0); i < 4; i++ {
		p.Write(1, []byte{i})
	}
	var got []byte
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		c.Read(func(_, _ uint16, pl []byte) {
			if pl[0] == 1 {
				panic("poison")
			}
			got = append(got, pl[0])
		}, 0)
	}()
	got = append(got, collect(c)...)
	checkBytes(t, "consumer", got, 0, 2, 3)
	for i := byte(4); i < 8; i++ {
		if err := p.Write(1, []byte{i}); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	checkBytes(t, "consumer", collect(c), 4, 5, 6, 7)
	if s := p.Stats(); s.RecoveredReads != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestMPMCConsumerDeathStress: producers and consumers run flat out while
// consumers die inside their handlers, one after another, each replaced by
// a new one with a new identity (which may take over a dead entry). No
// record may be delivered twice, and every record is either delivered or
// counted as recovered: delivered + RecoveredReads == written.
func TestMPMCConsumerDeathStress(t *testing.T) {
	const producers, consumers = 2, 3
	per, deaths, every := 40_000, 30, 997
	if testing.Short() {
		per, deaths, every = 5_000, 8, 211
	}
	b := newMPMC(t, 64, 16)
	const deadPID = 2_000_000
	var dead [64]atomic.Bool
	alive := func(p ipc.Process) bool { return p.PID < deadPID || !dead[p.PID-deadPID].Load() }
	seen := make([][]atomic.Uint32, producers)
	for i := range seen {
		seen[i] = make([]atomic.Uint32, per)
	}
	var delivered atomic.Int64
	total := int64(producers * per)
	deadline := time.Now().Add(60 * time.Second)

	var wg sync.WaitGroup
	for i := 0; i < producers; i++ {
		p, err := NewMPMCProducer(b, WithIdentity(ipc.Process{PID: 1_500_000 + i, StartTime: 1}), WithLiveness(alive))
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf [16]byte
			for seq := 0; seq < per && time.Now().Before(deadline); {
				putSeq(buf[:], uint64(i), uint64(seq))
				if err := p.Write(1, buf[:]); err == nil {
					seq++
				} else if errors.Is(err, ErrFull) {
					runtime.Gosched()
				} else {
					t.Error(err)
					return
				}
			}
		}()
	}

	var next atomic.Int32 // identities handed out
	var died atomic.Int32 // deaths so far
	var start func()
	start = func() {
		id := int(next.Add(1)) - 1
		c, err := NewMPMCConsumer(b, WithIdentity(ipc.Process{PID: deadPID + id, StartTime: 1}), WithLiveness(alive))
		if err != nil {
			t.Error(err)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int
			h := func(_, _ uint16, pl []byte) {
				if n++; n%every == 0 && died.Add(1) <= int32(deaths) {
					dead[id].Store(true)
					start()          // the replacement, which frees our run on attach
					runtime.Goexit() // holding this record and the rest of its run
				}
				prod, seq := getSeq(t, pl)
				if seen[prod][seq].Add(1) != 1 {
					t.Errorf("producer %d seq %d delivered twice", prod, seq)
				}
				delivered.Add(1)
			}
			for time.Now().Before(deadline) {
				if c.Read(h, 0) == 0 {
					if delivered.Load()+int64(mpmcStatsOf(b).RecoveredReads) == total {
						return
					}
					runtime.Gosched()
				}
			}
			t.Error("consumer timed out")
		}()
	}
	for i := 0; i < consumers; i++ {
		start()
	}
	wg.Wait()
	s := mpmcStatsOf(b)
	t.Logf("%d consumers died, %d records delivered, %d recovered, %d full events", min(died.Load(), int32(deaths)), delivered.Load(), s.RecoveredReads, s.Full)
	if got := delivered.Load() + int64(s.RecoveredReads); got != total {
		t.Fatalf("delivered %d + recovered %d = %d, want %d written", delivered.Load(), s.RecoveredReads, got, total)
	}
	if s.RecoveredReads == 0 || s.RecoveredReads > uint64(deaths*maxRun) {
		t.Fatalf("recovered %d reads from %d deaths", s.RecoveredReads, deaths)
	}
}

// mpmcStatsOf reads an MPMC ring's stats (zero on a bad region).
func mpmcStatsOf(b []byte) MPMCStats {
	s, _ := ReadMPMCStats(b)
	return s
}
