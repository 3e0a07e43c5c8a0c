// Package conn is the shared-memory segment of one client connection: the
// two SPSC rings between a client and the router. The client creates it
// (so that what it publishes while the router is away survives the router)
// and the router attaches to it by name after checking who made it.
//
//	segment data region (ipc.KindConn)
//	+--------------------+ 0
//	| meta               |  magic "CONN", version, in/out capacities
//	+--------------------+ BlockSize
//	| in ring            |  client -> router, ring.SPSCSize(in capacity)
//	+--------------------+ BlockSize + SPSCSize(in)
//	| out ring           |  router -> client, ring.SPSCSize(out capacity)
//	+--------------------+
package conn

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// Version is the connection segment layout version.
const Version = 1

const (
	magic          = 0x4e4e4f43 // "CONN"
	offMagic       = 0
	offVersion     = offMagic + 4
	offInCapacity  = offVersion + 4
	offOutCapacity = offInCapacity + 8
	metaEnd        = offOutCapacity + 8
	inOffset       = ring.BlockSize
)

// ErrBadSegment wraps every layout error of a connection segment.
var ErrBadSegment = errors.New("shmbus: bad connection segment")

// Segment is an attached connection segment.
type Segment struct {
	Seg     *ipc.Segment
	In, Out []byte // the two ring regions
	InCap   int
	OutCap  int
}

// Size is the data size of a connection segment with these capacities.
func Size(inCap, outCap int) int { return inOffset + ring.SPSCSize(inCap) + ring.SPSCSize(outCap) }

// Create makes and formats a connection segment (the client's job).
func Create(name string, inCap, outCap int, opts ...ipc.Option) (*Segment, error) {
	seg, err := ipc.Create(name, ipc.KindConn, Size(inCap, outCap), opts...)
	if err != nil {
		return nil, err
	}
	d := seg.Data()
	s := &Segment{Seg: seg, InCap: inCap, OutCap: outCap}
	s.In = d[inOffset : inOffset+ring.SPSCSize(inCap)]
	s.Out = d[inOffset+ring.SPSCSize(inCap) : inOffset+ring.SPSCSize(inCap)+ring.SPSCSize(outCap)]
	if err := ring.InitSPSC(s.In, inCap); err != nil {
		s.Close(true)
		return nil, err
	}
	if err := ring.InitSPSC(s.Out, outCap); err != nil {
		s.Close(true)
		return nil, err
	}
	binary.LittleEndian.PutUint32(d[offVersion:], Version)
	binary.LittleEndian.PutUint64(d[offInCapacity:], uint64(inCap))
	binary.LittleEndian.PutUint64(d[offOutCapacity:], uint64(outCap))
	binary.LittleEndian.PutUint32(d[offMagic:], magic)
	return s, nil
}

// Open attaches an existing connection segment and validates its layout.
func Open(name string, opts ...ipc.Option) (*Segment, error) {
	seg, err := ipc.Open(name, ipc.KindConn, opts...)
	if err != nil {
		return nil, err
	}
	d := seg.Data()
	fail := func(format string, a ...any) (*Segment, error) {
		seg.Close()
		return nil, fmt.Errorf("connection segment %q: "+format+": %w", append([]any{name}, append(a, ErrBadSegment)...)...)
	}
	if len(d) < metaEnd {
		return fail("data region of %d bytes", len(d))
	}
	if m := binary.LittleEndian.Uint32(d[offMagic:]); m != magic {
		return fail("magic %#x, want %#x", m, magic)
	}
	if v := binary.LittleEndian.Uint32(d[offVersion:]); v != Version {
		return fail("layout version %d, this build reads %d", v, Version)
	}
	in, out := binary.LittleEndian.Uint64(d[offInCapacity:]), binary.LittleEndian.Uint64(d[offOutCapacity:])
	if in > ring.MaxCapacity || out > ring.MaxCapacity || Size(int(in), int(out)) != len(d) {
		return fail("capacities %d and %d do not fill %d bytes", in, out, len(d))
	}
	s := &Segment{Seg: seg, InCap: int(in), OutCap: int(out)}
	s.In = d[inOffset : inOffset+ring.SPSCSize(s.InCap)]
	s.Out = d[inOffset+ring.SPSCSize(s.InCap):]
	return s, nil
}

// Close unmaps the segment and, if remove is set, deletes its file.
func (s *Segment) Close(remove bool) error {
	var err error
	if remove {
		err = s.Seg.Remove()
	}
	return errors.Join(err, s.Seg.Close())
}
