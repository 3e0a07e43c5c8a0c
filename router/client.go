package router

import (
	"net"
	"strconv"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// client is one connection, owned by the event loop once added.
type client struct {
	id         uint64
	name       string
	inbox      string
	proc       ipc.Process
	seg        *conn.Segment
	in         *ring.Consumer
	out        *ring.Producer
	maxPayload int
	initial    []wire.SubSpec // subscriptions from the Hello (a reconnect)
	sock       *net.UnixConn

	subs    map[uint64]*subscription // by the client's sid
	handler func(typ, flags uint16, payload []byte) bool
	dirty   bool  // out ring has deferred records to flush
	stall   stall // a publish held back by block-policy subscribers
	removed bool

	qcons map[uint64]*qconsumer // queue consumers by sid (nil until the first)
	qhold qhold                 // a queue record held at the head of the in ring

	// Counters (loop only; copied into the stats segment).
	msgsIn, bytesIn, msgsOut, bytesOut, dropped, rejected uint64
	expired                                               uint64 // published already past their deadline
	alertIn, alertOut                                     bool
}

// subscription is one subscription. Sub comes first so that the *Sub the
// trie hands back converts to its subscription (subOf) without a lookup.
type subscription struct {
	Sub
	sid        uint64
	pattern    string
	c          *client
	policy     uint8
	block      time.Duration
	sel        *selector.Selector // nil: every message
	delivered  uint64
	filtered   uint64 // matched the pattern, refused by the selector
	dropped    uint64
	unreported uint64 // drops not yet told to the client
	removed    bool
}

func subOf(s *Sub) *subscription { return (*subscription)(unsafe.Pointer(s)) }

// stall is the state of a publish that some block-policy subscribers could
// not take yet: the record stays at the head of the publisher's ring.
type stall struct {
	active bool
	subs   []stalled
	frame  []byte // the frame to deliver when the rules rewrote it; empty: the record itself
}

type stalled struct {
	sub      *subscription
	deadline int64 // monotonic ns
}

func newClient(id uint64, h *wire.Hello, proc ipc.Process, seg *conn.Segment, in *ring.Consumer, out *ring.Producer) *client {
	// The largest message frame both rings take, less the fixed part: topic,
	// reply, headers and data together must fit it.
	mp := min(in.MaxPayload(), out.MaxPayload()) - wire.MsgFixed
	return &client{
		id: id, name: h.Name, proc: proc, seg: seg, in: in, out: out,
		inbox:      "_INBOX." + strconv.FormatUint(id, 10),
		maxPayload: max(mp, 1),
		initial:    h.Subs,
		subs:       map[uint64]*subscription{},
	}
}

// release detaches the rings and unmaps the segment; remove deletes the
// file too (the client is dead and cannot).
func (c *client) release(remove bool) {
	c.in.Close()
	c.out.Close()
	c.seg.Close(remove)
}
