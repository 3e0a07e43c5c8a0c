package bus

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// Publish publishes data to topic, with DefaultPriority and no deadline.
// It returns nil once the message is in the ring to the router (not once
// the router has routed it: see Flush). When the ring is full it waits for
// room up to the publish timeout, then fails with ErrBusFull; while the
// router is away (reconnecting) messages keep going into the ring and are
// delivered after the reconnect.
//
// Publish encodes straight into the ring and allocates nothing. data may
// be reused as soon as it returns.
func (c *Conn) Publish(topic string, data []byte) error {
	return c.publish(wire.TypePub, topic, "", nil, data, DefaultPriority, 0, nil)
}

// PublishMsg publishes m (Topic, Reply, Header, Data, Priority, TTL and
// Deadline). Headers are encoded into a reused buffer. A message whose
// deadline has already passed is not published: ErrExpired.
func (c *Conn) PublishMsg(m *Msg) error {
	prio, deadline, err := m.sendParams()
	if err != nil {
		return err
	}
	return c.publish(wire.TypePub, m.Topic, m.Reply, m.Header, m.Data, prio, deadline, nil)
}

// PublishRequest publishes data to topic with reply as the topic where
// responders send their answers (see also Request).
func (c *Conn) PublishRequest(topic, reply string, data []byte) error {
	return c.publish(wire.TypePub, topic, reply, nil, data, DefaultPriority, 0, nil)
}

// sendParams checks m's priority and works out its deadline.
func (m *Msg) sendParams() (uint8, int64, error) {
	prio, err := m.Priority.wireLevel()
	if err != nil {
		return 0, 0, err
	}
	deadline, err := m.expiry()
	return prio, deadline, err
}

// publish writes a message frame of type typ: TypePub, or TypeSend (topic
// is then the queue name and w, registered under the message id before
// the record is visible, waits for the router's confirm).
func (c *Conn) publish(typ uint16, topic, reply string, h Header, data []byte, prio uint8, deadline int64, w *sendWaiter) error {
	if err := ValidateTopic(topic); err != nil {
		if typ == wire.TypeSend {
			return fmt.Errorf("%w: queue name: %w", ErrQueueInvalid, err)
		}
		return err
	}
	if reply != "" {
		if err := ValidateTopic(reply); err != nil {
			return fmt.Errorf("reply: %w", err)
		}
	}
	hlen := 0
	if len(h) > 0 {
		var err error
		if hlen, err = headerSize(h); err != nil {
			return err
		}
	}
	// The router's limit covers everything variable in the frame.
	if size, limit := int64(len(topic)+len(reply)+hlen+len(data)), c.maxPayload.Load(); size > limit {
		return fmt.Errorf("%w: topic, reply, headers and data take %d bytes, at most %d", ErrMaxPayload, size, limit)
	}
	m := wire.Msg{Topic: bytesOf(topic), Reply: bytesOf(reply), Data: data, Priority: prio, Deadline: uint64(deadline)}
	n := m.Size() + hlen
	buf, err := c.lockedClaim(typ, n)
	if err != nil {
		return err
	}
	// pmu is held from here.
	if hlen > 0 {
		c.hdrBuf = wire.AppendHeaders(c.hdrBuf[:0], h)
		m.Headers = c.hdrBuf
	}
	c.seq++
	m.ID = c.connID<<40 | c.seq&(1<<40-1)
	m.PubTime = uint64(MonotonicNanos())
	m.Encode(buf)
	if w != nil {
		// Before the commit: the confirm can come as soon as the router
		// sees the record.
		w.id = m.ID
		w.pos.Store(notWritten)
		c.sends.insert(w)
	}
	c.prod.Commit()
	if w != nil {
		w.pos.Store(c.prod.Stats().Tail) // see sweepLost
	}
	c.pmu.Unlock()
	c.stats.outMsgs.Add(1)
	c.stats.outBytes.Add(uint64(len(data)))
	return nil
}

// bytesOf views s as bytes without copying; the bytes are only read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// headerSize is the size of h's header block as wire.AppendHeaders writes
// it (u16 count, then per value u16 key length, key, u32 value length,
// value), checking what the block cannot carry.
func headerSize(h Header) (int, error) {
	count, n := 0, 2
	for k, vs := range h {
		if k == "" || len(k) > math.MaxUint16 {
			return 0, fmt.Errorf("shmbus: header key of %d bytes, want 1 to %d: %w", len(k), math.MaxUint16, ErrInvalidOption)
		}
		for _, v := range vs {
			count++
			n += 2 + len(k) + 4 + len(v)
		}
	}
	switch {
	case count == 0:
		return 0, nil
	case count > math.MaxUint16:
		return 0, fmt.Errorf("shmbus: %d header values, at most %d: %w", count, math.MaxUint16, ErrInvalidOption)
	case n > wire.MaxHeaderLen:
		return 0, fmt.Errorf("%w: header block of %d bytes, at most %d", ErrMaxPayload, n, wire.MaxHeaderLen)
	}
	return n, nil
}

// lockedClaim locks pmu and claims a record of n bytes in the in ring. On
// success pmu stays held: the caller fills the claim, commits and unlocks.
// On error pmu is not held.
//
// When the ring is full it lets go of pmu while it waits for room (so that
// other writers, and a reconnect, are not held up behind it) and tries
// again, until the publish timeout.
func (c *Conn) lockedClaim(typ uint16, n int) ([]byte, error) {
	var w *roomWait
	for {
		c.pmu.Lock()
		if c.prodClosed {
			c.pmu.Unlock()
			w.leave()
			return nil, ErrConnectionClosed
		}
		buf, err := c.prod.Claim(typ, n)
		if err == nil {
			w.leave()
			return buf, nil
		}
		if err != ring.ErrFull {
			err = c.claimErr(n, err)
			c.pmu.Unlock()
			w.leave()
			return nil, err
		}
		if w == nil {
			w = &roomWait{c: c, idle: c.opts.newIdle(), deadline: time.Now().Add(c.opts.publishTimeout)}
			c.roomWaiters.Add(1) // under pmu with the producer open: see cleanup
		}
		w.head = c.inHead()
		c.pmu.Unlock()
		if !time.Now().Before(w.deadline) {
			w.leave()
			return nil, c.busFull(n)
		}
		w.idle.Idle(w)
	}
}

func (c *Conn) busFull(n int) error {
	state := "is not keeping up"
	if !c.connected.Load() {
		state = "is gone (reconnecting)"
	}
	return fmt.Errorf("%w: no room for a %d-byte record in the %d-byte ring within %v; the router %s: %w",
		ErrBusFull, n, c.opts.inCap, c.opts.publishTimeout, state, ring.ErrFull)
}

// claimErr maps a Claim error other than ErrFull. pmu is held.
func (c *Conn) claimErr(n int, err error) error {
	switch {
	case errors.Is(err, ring.ErrTooLarge):
		return fmt.Errorf("%w: record of %d bytes, the ring takes %d: %w", ErrMaxPayload, n, c.prod.MaxPayload(), err)
	case errors.Is(err, ring.ErrClosed):
		return ErrConnectionClosed
	}
	return err
}

// inHead is the router's read position in the in ring (shared memory).
func (c *Conn) inHead() uint64 {
	st, _ := ring.ReadSPSCStats(c.seg.In)
	return st.Head
}

// writeU64 writes a one-word record (TypeUnsub, TypePing).
func (c *Conn) writeU64(typ uint16, v uint64) error {
	buf, err := c.lockedClaim(typ, wire.U64Size)
	if err != nil {
		return err
	}
	wire.PutU64(buf, v)
	c.prod.Commit()
	c.pmu.Unlock()
	return nil
}

// roomWait is one writer waiting for room without holding pmu. It is an
// ipc.Parkable: ready once the router has moved its read position past
// where it was when the claim failed (the router rings the ring's room
// doorbell when it does), or the Conn closes (Close rings it too).
//
// While it waits the writer is counted in roomWaiters, and the dispatcher
// does not unmap the segment until none is left.
type roomWait struct {
	c        *Conn
	idle     ipc.IdleStrategy
	deadline time.Time
	head     uint64
}

func (w *roomWait) Ready() bool             { return w.c.closing.Load() || w.c.inHead() != w.head }
func (w *roomWait) Doorbell() *ipc.Doorbell { return w.c.roomBell.Load() }

func (w *roomWait) leave() {
	if w != nil {
		w.c.roomWaiters.Done()
	}
}
