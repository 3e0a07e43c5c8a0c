package conn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// The router segment (ipc.KindControl, named wire.RouterName) holds the
// doorbell every client rings after publishing, so the router's one event
// loop can park on one futex for all its clients, and the identity of the
// router that runs now. It outlives a router: a restarted router reuses it,
// so the doorbell address clients mapped stays valid.
//
//	+--------------------+ 0
//	| meta               |  magic "RTR1", version
//	+--------------------+ BlockSize
//	| router doorbell    |  [seq u32][waiters u32]; the router parks here
//	+--------------------+ 2*BlockSize
//	| router identity    |  pid i64, start time u64, epoch u64 (starts)
//	+--------------------+ 3*BlockSize
const (
	routerMagic    = 0x31525452 // "RTR1"
	routerBellOff  = ring.BlockSize
	routerIdentOff = routerBellOff + ring.BlockSize
	routerDataSize = routerIdentOff + ring.BlockSize
	identPIDOff    = 0
	identStartOff  = identPIDOff + 8
	identEpochOff  = identStartOff + 8
)

// RouterSegment is the mapped router segment.
type RouterSegment struct {
	Seg  *ipc.Segment
	Bell *ipc.Doorbell
}

// OpenRouter maps the router segment, creating it if create is set and it
// does not exist yet.
func OpenRouter(name string, create bool, opts ...ipc.Option) (*RouterSegment, error) {
	seg, err := ipc.Open(name, ipc.KindControl, opts...)
	if create && errors.Is(err, ipc.ErrNotFound) {
		seg, err = ipc.Create(name, ipc.KindControl, routerDataSize, opts...)
		if err == nil {
			d := seg.Data()
			binary.LittleEndian.PutUint32(d[offVersion:], Version)
			binary.LittleEndian.PutUint32(d[offMagic:], routerMagic)
		} else if errors.Is(err, ipc.ErrExists) {
			seg, err = ipc.Open(name, ipc.KindControl, opts...)
		}
	}
	if err != nil {
		return nil, err
	}
	d := seg.Data()
	if len(d) < routerDataSize || binary.LittleEndian.Uint32(d[offMagic:]) != routerMagic || binary.LittleEndian.Uint32(d[offVersion:]) != Version {
		seg.Close()
		return nil, fmt.Errorf("router segment %q: not a version %d router segment: %w", name, Version, ErrBadSegment)
	}
	bell, err := ipc.NewDoorbell(d[routerBellOff:])
	if err != nil {
		seg.Close()
		return nil, err
	}
	return &RouterSegment{Seg: seg, Bell: bell}, nil
}

// SetIdentity records the running router and counts a start.
func (r *RouterSegment) SetIdentity(p ipc.Process) {
	d := r.Seg.Data()[routerIdentOff:]
	binary.LittleEndian.PutUint64(d[identPIDOff:], uint64(p.PID))
	binary.LittleEndian.PutUint64(d[identStartOff:], p.StartTime)
	binary.LittleEndian.PutUint64(d[identEpochOff:], binary.LittleEndian.Uint64(d[identEpochOff:])+1)
}

// Identity returns the recorded router process and how many times a router
// started on this bus.
func (r *RouterSegment) Identity() (ipc.Process, uint64) {
	d := r.Seg.Data()[routerIdentOff:]
	return ipc.Process{PID: int(binary.LittleEndian.Uint64(d[identPIDOff:])), StartTime: binary.LittleEndian.Uint64(d[identStartOff:])},
		binary.LittleEndian.Uint64(d[identEpochOff:])
}

// Close unmaps the segment (it is never removed: see above).
func (r *RouterSegment) Close() error { return r.Seg.Close() }
