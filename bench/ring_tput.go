package bench

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// Throughput ring geometry: the ring's data capacity, and how many bytes of
// records the producer commits (CommitDeferred) before one Flush.
const (
	TputCapacity   = 4 << 20
	TputBatchBytes = 16 << 10
)

// Control words of the throughput segment (control page offsets).
const (
	sinkReady = offFlagB // child attached and polling
	sinkDone  = offDone  // 1: all N seen in order; 2: the child failed
)

// RingThroughput streams N records of Size bytes (default 64) from this
// process to a child through one SPSC ring. The producer claims in place,
// copies the payload, stamps a sequence number, commits deferred and
// flushes once per TputBatchBytes; the consumer reads in batches (Read with
// no limit) and handles each record in place, as the ring is meant to be
// used (zero copy): it checks the sequence number and reads a word of every
// cache line of the payload, so all of it reaches the consumer's cache.
// One copy per message, like the other baselines' send side.
// Both sides busy-spin when they must wait. Time runs from the first claim
// to the consumer's "done".
func RingThroughput(p Params) (*Result, error) {
	n, size := p.n(DefaultTputN), p.size(64)
	name := fmt.Sprintf("ring.tput/%d", size)
	if size < 8 || size > ring.SPSCMaxPayload(TputCapacity) {
		return nil, fmt.Errorf("bench: %s: size %d out of range", name, size)
	}
	batch := max(1, TputBatchBytes/(size+ring.HeaderLength))
	dir, cleanup, err := p.tempDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	s, err := createRingSegment(dir, TputCapacity)
	if err != nil {
		return nil, err
	}
	defer s.close()
	prod, err := ring.NewProducer(s.a)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	c, err := startChild("ring-sink", childArgs{Path: dir, N: n, Size: size, Capacity: TputCapacity,
		Deadline: deadlineFor(p.timeout())})
	if err != nil {
		return nil, err
	}
	defer c.kill()

	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	g := newGuard(p.timeout(), &c.exited)
	ready, done := word32(s.ctl, sinkReady), word32(s.ctl, sinkDone)
	a, _, _ := CPUs()
	unpin, _ := Pin(a)
	err = spinUntil(func() bool { return ready.Load() != 0 }, &g)
	start, sys0 := now(), syscalls()
	for i, left := 0, batch; i < n && err == nil; {
		buf, cerr := prod.Claim(recordType, size)
		if cerr != nil {
			err = waitRoom(prod, cerr, &g)
			continue
		}
		copy(buf, payload)
		binary.LittleEndian.PutUint64(buf, uint64(i))
		prod.CommitDeferred()
		i++
		if left--; left == 0 {
			prod.Flush()
			left = batch
		}
	}
	prod.Flush()
	if err == nil {
		err = spinUntil(func() bool { return done.Load() != 0 }, &g)
	}
	d := now() - start
	sysParent := syscalls() - sys0
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && (rep.Count != int64(n) || done.Load() != 1) {
		err = fmt.Errorf("child saw %d of %d in order", rep.Count, n)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := throughputResult(name, int64(n), size, durationNS(d))
	r.SyscallsPerOp = float64(sysParent+rep.Waits+rep.Wakes) / float64(n)
	return r, nil
}

// waitRoom handles a failed Claim: on ErrFull it publishes what is
// committed and spins until a whole batch fits again (room of TputBatchBytes,
// not just one record), bounded by g; any other error is returned.
//
// The hysteresis matters: resuming as soon as one record fits (what
// Producer.Ready reports) makes a full ring degenerate into a per-record
// ping-pong with the consumer, each record publishing alone and each Read
// freeing one record, with the two CPUs fighting over the same lines.
func waitRoom(p *ring.Producer, err error, g *guard) error {
	if !errors.Is(err, ring.ErrFull) {
		return err
	}
	p.Flush()
	var spin ipc.BusySpin
	for k := 1; ; k++ {
		if p.Free() >= TputBatchBytes {
			return nil
		}
		if k%spinCheck == 0 {
			if err := g.check(); err != nil {
				return err
			}
		}
		spin.Idle(p)
	}
}

// spinUntil spins until cond holds, bounded by g.
func spinUntil(cond func() bool, g *guard) error {
	for k := 1; !cond(); k++ {
		if k%spinCheck == 0 {
			if err := g.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

func init() {
	roles["ring-sink"] = ringSink
}

// ringSink is the child of RingThroughput.
func ringSink(a *childArgs) (*childReport, error) {
	s, err := openRingSegment(a.Path, a.Capacity)
	if err != nil {
		return nil, err
	}
	defer s.close()
	done := word32(s.ctl, sinkDone)
	cons, err := ring.NewConsumer(s.a)
	if err != nil {
		done.Store(2)
		return nil, err
	}
	defer cons.Close()
	var seq, bad, sum uint64
	h := func(_, _ uint16, payload []byte) {
		if len(payload) != a.Size || binary.LittleEndian.Uint64(payload) != seq {
			bad++
		}
		sum ^= touchLines(payload)
		seq++
	}
	g := a.guard()
	var spin ipc.BusySpin
	w0, k0 := ipcStats()
	word32(s.ctl, sinkReady).Store(1)
	for k := 1; seq < uint64(a.N) && bad == 0; k++ {
		if cons.Read(h, 0) > 0 {
			continue
		}
		if err := cons.Err(); err != nil {
			done.Store(2)
			return nil, err
		}
		if k%spinCheck == 0 {
			if err := g.check(); err != nil {
				done.Store(2)
				return nil, err
			}
		}
		spin.Idle(cons)
	}
	w, k := ipcStats()
	if bad != 0 {
		done.Store(2)
		return nil, fmt.Errorf("record %d out of sequence", seq-1)
	}
	done.Store(1)
	return &childReport{Count: int64(seq), Waits: w - w0, Wakes: k - k0, Note: fmt.Sprint(sum & 1)}, nil
}

// touchLines reads one word of every 64-byte line of p, so every byte of
// the payload travels to the reader's cache, without copying it.
func touchLines(p []byte) uint64 {
	var x uint64
	for len(p) >= 8 {
		x ^= binary.LittleEndian.Uint64(p)
		p = p[min(64, len(p)):]
	}
	return x
}
