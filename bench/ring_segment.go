package bench

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// The ring benchmarks' segment: one ipc segment (kind SPSC) whose data
// region holds a control page and two SPSC rings, each starting on a page:
//
//	+0               control page: handshake words (shm.go offsets)
//	+pageSize        ring A: parent -> child, ring.SPSCSize(capacity)
//	+pageSize+ringSpan   ring B: child -> parent (ping-pong only)
//
// The parent creates and formats it; the child opens it by name.

const segName = "bench"

// ringSpan is the page-rounded size of one ring's region.
func ringSpan(capacity int) int {
	return (ring.SPSCSize(capacity) + pageSize - 1) &^ (pageSize - 1)
}

// ringSegment is a mapped benchmark segment.
type ringSegment struct {
	seg  *ipc.Segment
	ctl  []byte // the control page
	a, b []byte // the two ring regions
}

// createRingSegment creates and formats the segment in dir.
func createRingSegment(dir string, capacity int) (*ringSegment, error) {
	seg, err := ipc.Create(segName, ipc.KindSPSC, pageSize+2*ringSpan(capacity), ipc.WithDir(dir), ipc.WithPrefault(true))
	if err != nil {
		return nil, err
	}
	s := splitRingSegment(seg, capacity)
	if err := errors.Join(ring.InitSPSC(s.a, capacity), ring.InitSPSC(s.b, capacity)); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// openRingSegment maps the parent's segment in the child.
func openRingSegment(dir string, capacity int) (*ringSegment, error) {
	seg, err := ipc.Open(segName, ipc.KindSPSC, ipc.WithDir(dir), ipc.WithPrefault(true))
	if err != nil {
		return nil, err
	}
	if len(seg.Data()) < pageSize+2*ringSpan(capacity) {
		seg.Close()
		return nil, fmt.Errorf("bench: segment of %d bytes is too small", len(seg.Data()))
	}
	return splitRingSegment(seg, capacity), nil
}

func splitRingSegment(seg *ipc.Segment, capacity int) *ringSegment {
	d := seg.Data()
	span := ringSpan(capacity)
	return &ringSegment{
		seg: seg,
		ctl: d[:pageSize],
		a:   d[pageSize : pageSize+span],
		b:   d[pageSize+span : pageSize+2*span],
	}
}

// close unmaps the segment (the caller removes the directory).
func (s *ringSegment) close() { _ = s.seg.Close() }

// syscalls is ipc's futex syscall count, waits plus wakes.
func syscalls() uint64 {
	w, k := ipc.SyscallStats()
	return w + k
}

// idleFor returns a fresh idle strategy by name ("" = spin).
func idleFor(name string) (ipc.IdleStrategy, error) {
	if name == "" {
		name = "spin"
	}
	return ipc.NewIdleStrategy(name)
}

// idleCheckEvery is how many Idle calls pass between guard checks (a time
// read): every call for Block, whose every Idle may park 100 ms; a few for
// Backoff, which parks only after hundreds of calls; more for spinning.
func idleCheckEvery(name string) int {
	switch name {
	case "block":
		return 1
	case "backoff":
		return 16
	}
	return 64
}

// awaitRead polls c until it hands over at least one record, idling with
// idle between polls, bounded by g.
func awaitRead(c *ring.Consumer, h ring.Handler, idle ipc.IdleStrategy, every int, g *guard) error {
	for k := 1; ; k++ {
		if c.Read(h, 0) > 0 {
			idle.Reset()
			return nil
		}
		if err := c.Err(); err != nil {
			return err
		}
		if k%every == 0 {
			if err := g.check(); err != nil {
				return err
			}
		}
		idle.Idle(c)
	}
}

// writeRecord copies msg into a new record and publishes it, waiting for
// room with idle when the ring is full, bounded by g.
func writeRecord(p *ring.Producer, msg []byte, idle ipc.IdleStrategy, every int, g *guard) error {
	for k := 1; ; k++ {
		buf, err := p.Claim(recordType, len(msg))
		if err == nil {
			copy(buf, msg)
			p.Commit()
			idle.Reset()
			return nil
		}
		if !errors.Is(err, ring.ErrFull) {
			return err
		}
		if k%every == 0 {
			if err := g.check(); err != nil {
				return err
			}
		}
		idle.Idle(p)
	}
}

// recordType is the record type the benchmarks write.
const recordType = 1

func ipcStats() (waits, wakes uint64) { return ipc.SyscallStats() }
