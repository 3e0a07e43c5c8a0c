package bench

import (
	"encoding/binary"
	"fmt"

	"github.com/shmbus/shmbus/ring"
)

// PingCapacity is the data capacity of each ping-pong ring.
const PingCapacity = 64 << 10

// DefaultRingPingN is the default number of ring round trips.
const DefaultRingPingN = 200_000

// RingPingPong bounces a Size-byte record (default 64) between this process
// and a child through two SPSC rings in one segment (A: parent -> child,
// B: child -> parent). Both sides wait with the idle strategy p.Idle
// ("spin" by default; "backoff"; "block" parks every time). Each message is
// Claim + copy + Commit; the receiver's handler copies the payload out and
// the echo copies it back in. Futex syscalls of both processes are counted.
func RingPingPong(p Params) (*Result, error) {
	n, size := p.n(DefaultRingPingN), p.size(64)
	idleName := p.Idle
	if idleName == "" {
		idleName = "spin"
	}
	name := "ring.pingpong/" + idleName
	if size < 8 || size > ring.SPSCMaxPayload(PingCapacity) {
		return nil, fmt.Errorf("bench: %s: size %d out of range", name, size)
	}
	idle, err := idleFor(idleName)
	if err != nil {
		return nil, err
	}
	waitIdle, _ := idleFor(idleName)
	every := idleCheckEvery(idleName)

	dir, cleanup, err := p.tempDir()
	if err != nil {
		return nil, err
	}
	defer cleanup()
	s, err := createRingSegment(dir, PingCapacity)
	if err != nil {
		return nil, err
	}
	defer s.close()
	prod, err := ring.NewProducer(s.a)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	cons, err := ring.NewConsumer(s.b)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	c, err := startChild("ring-echo", childArgs{Path: dir, N: n, Size: size, Capacity: PingCapacity,
		Idle: idleName, Deadline: deadlineFor(p.timeout())})
	if err != nil {
		return nil, err
	}
	defer c.kill()

	msg := make([]byte, size)
	got := make([]byte, size)
	h := func(_, _ uint16, payload []byte) { copy(got, payload) }
	hist := NewHist()
	g := newGuard(p.timeout(), &c.exited)
	a, _, _ := CPUs()
	unpin, _ := Pin(a)
	var prev int64
	var sys0 uint64
	for i := uint64(0); i <= uint64(n); i++ {
		binary.LittleEndian.PutUint64(msg, i)
		if err = writeRecord(prod, msg, waitIdle, every, &g); err != nil {
			break
		}
		if err = awaitRead(cons, h, idle, every, &g); err != nil {
			break
		}
		if seq := binary.LittleEndian.Uint64(got); seq != i {
			err = fmt.Errorf("round %d came back as %d", i, seq)
			break
		}
		t := now()
		if i > 0 {
			hist.Record(t - prev)
		} else {
			sys0 = syscalls()
		}
		prev = t
	}
	sysParent := syscalls() - sys0
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && rep.Count != int64(n)+1 {
		err = fmt.Errorf("child echoed %d of %d", rep.Count, n+1)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := latencyResult(name, hist)
	r.Size = size
	r.SyscallsPerOp = float64(sysParent+rep.Waits+rep.Wakes) / float64(n)
	return r, nil
}

func init() {
	roles["ring-echo"] = ringEcho
}

// ringEcho is the child of RingPingPong: it reads each record from ring A
// and writes it back to ring B. Its futex syscalls after round 0 are
// reported.
func ringEcho(a *childArgs) (*childReport, error) {
	s, err := openRingSegment(a.Path, a.Capacity)
	if err != nil {
		return nil, err
	}
	defer s.close()
	cons, err := ring.NewConsumer(s.a)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	prod, err := ring.NewProducer(s.b)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	idle, err := idleFor(a.Idle)
	if err != nil {
		return nil, err
	}
	waitIdle, _ := idleFor(a.Idle)
	every := idleCheckEvery(a.Idle)
	msg := make([]byte, a.Size)
	h := func(_, _ uint16, payload []byte) { copy(msg, payload) }
	g := a.guard()
	var w0, k0 uint64
	for i := 0; i <= a.N; i++ {
		if err := awaitRead(cons, h, idle, every, &g); err != nil {
			return nil, fmt.Errorf("round %d: %w", i, err)
		}
		if i == 0 {
			w0, k0 = ipcStats()
		}
		if err := writeRecord(prod, msg, waitIdle, every, &g); err != nil {
			return nil, fmt.Errorf("round %d: %w", i, err)
		}
	}
	w, k := ipcStats()
	return &childReport{Count: int64(a.N) + 1, Waits: w - w0, Wakes: k - k0}, nil
}
