package router

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// statusNoResponders is the header block of a no-responders status.
var statusNoResponders = wire.AppendHeaders(nil, map[string][]string{"Status": {"503"}})

// publish handles a TypePub record from c. It returns false to leave the
// record in c's ring while a block-policy subscriber has no room.
func (l *loop) publish(c *client, p []byte) bool {
	if c.stall.active {
		return l.resume(c, p)
	}
	var m wire.Msg
	if err := wire.DecodeMsg(p, &m); err != nil {
		l.reject(c, wire.CodeBadRecord, 0, err)
		return true
	}
	topic := str(m.Topic)
	// Match validates the topic itself (an invalid one matches nothing), so
	// the explicit check, which builds the error, runs only on a miss.
	if len(m.Reply) > 0 {
		if err := ValidateTopic(str(m.Reply)); err != nil {
			l.reject(c, wire.CodeBadRecord, 0, fmt.Errorf("reply: %w", err))
			return true
		}
	}
	c.msgsIn++
	c.bytesIn += uint64(len(m.Data))
	if m.Deadline != 0 && int64(m.Deadline) <= ipc.MonotonicNanos() {
		// Expired before the router read it: never delivered, counted.
		l.expired++
		c.expired++
		return true
	}
	if e := l.r.rules.Load(); e != nil && e.Len() > 0 {
		if err := ValidateTopic(topic); err != nil {
			c.msgsIn--
			c.bytesIn -= uint64(len(m.Data))
			l.reject(c, wire.CodeBadRecord, 0, err)
			return true
		}
		return l.publishRules(c, e, &m, p)
	}
	return l.routePublish(c, &m, p)
}

// routePublish routes the message m (encoded as frame) published by c:
// subscribers, or the no-subscriber count and a no-responders status. It
// returns false, having set up c's stall, when a block-policy subscriber
// has no room.
func (l *loop) routePublish(c *client, m *wire.Msg, frame []byte) bool {
	topic := str(m.Topic)
	bound := l.qs.nbinds > 0 && l.pushBound(topic, frame, m) // queue bindings: qsend.go
	if !l.route(topic, frame, m, true) {
		if err := ValidateTopic(topic); err != nil {
			c.msgsIn--
			c.bytesIn -= uint64(len(m.Data))
			l.reject(c, wire.CodeBadRecord, 0, err)
			return true
		}
		if bound {
			return true // a queue took it
		}
		l.noSubs++
		if len(m.Reply) > 0 {
			l.status(c, m.Reply, statusNoResponders)
		}
		return true
	}
	if len(l.pending) == 0 {
		return true
	}
	c.stall.subs = append(c.stall.subs[:0], l.pending...)
	c.stall.frame = c.stall.frame[:0]
	c.stall.active = true
	l.stalls++
	return false
}

// route copies the encoded message frame to every subscription matching
// topic whose selector (if any) accepts m. Block-policy subscribers without
// room are left in l.pending when mayStall is set (dropped otherwise). It
// reports whether any subscription took the message (or was offered it):
// false means nobody listens, selectors included.
func (l *loop) route(topic string, frame []byte, m *wire.Msg, mayStall bool) bool {
	l.pending = l.pending[:0]
	l.subs.Match(topic, &l.match)
	if len(l.match.Plain) == 0 && len(l.match.Groups) == 0 {
		return false
	}
	offered := false
	for _, s := range l.match.Plain {
		sub := subOf(s)
		// DecodeMsg (or the rules, which write well-formed blocks) checked
		// the header block: EvalChecked skips a second walk over it.
		if sub.sel != nil && !sub.sel.EvalChecked(m.Topic, m.Priority, m.Headers) {
			sub.filtered++
			continue
		}
		l.offer(sub, frame, mayStall)
		offered = true
	}
	l.roomNeed = len(frame)
	l.curMsg = *m // a copy the loop owns: storing m itself would move every publish's Msg to the heap
	l.cur = &l.curMsg
	for i := range l.match.Groups {
		g := &l.match.Groups[i]
		s := g.PickFunc(l.roomFn) // a member with room whose selector accepts m, round robin
		if s == nil {
			s = g.PickFunc(l.selFn) // none has room: that member's policy decides
		}
		if s == nil {
			continue // every member's selector refuses m
		}
		l.offer(subOf(s), frame, mayStall)
		offered = true
	}
	l.cur = nil
	return offered
}

// accepts reports whether s's selector (none: everything) takes l.cur.
func (l *loop) accepts(s *subscription) bool {
	return s.sel == nil || s.sel.EvalChecked(l.cur.Topic, l.cur.Priority, l.cur.Headers)
}

// offer delivers frame to s, or applies s's policy when its ring is full.
func (l *loop) offer(s *subscription, frame []byte, mayStall bool) {
	switch err := l.deliver(s, frame); {
	case err == nil:
	case errors.Is(err, ring.ErrFull) && s.policy == wire.PolicyBlock && mayStall && s.block > 0:
		l.pending = append(l.pending, stalled{sub: s, deadline: ipc.MonotonicNanos() + int64(s.block)})
	default:
		l.drop(s)
	}
}

// deliver copies frame into s's client ring and patches the sid.
func (l *loop) deliver(s *subscription, frame []byte) error {
	if s.removed {
		return nil
	}
	c := s.c
	buf, err := c.out.Claim(wire.TypeMsg, len(frame))
	if err != nil {
		return err
	}
	copy(buf, frame)
	wire.SetSID(buf, s.sid)
	l.commit(c)
	s.delivered++
	c.msgsOut++
	c.bytesOut += uint64(len(frame))
	return nil
}

// resume retries a stalled publish: delivers to the subscribers still
// waiting, drops for those past their deadline, and consumes the record
// when none is left.
func (l *loop) resume(c *client, frame []byte) bool {
	if len(c.stall.frame) > 0 {
		frame = c.stall.frame // rewritten by the rules (routing.go)
	}
	now := ipc.MonotonicNanos()
	left := c.stall.subs[:0]
	for _, st := range c.stall.subs {
		switch err := l.deliver(st.sub, frame); {
		case err == nil:
		case errors.Is(err, ring.ErrFull) && now < st.deadline:
			left = append(left, st)
		default:
			l.drop(st.sub)
		}
	}
	c.stall.subs = left
	if len(left) > 0 {
		return false
	}
	c.stall.active = false
	l.stalls--
	return true
}

// drop counts a message s lost and queues the slow-consumer report.
func (l *loop) drop(s *subscription) {
	s.dropped++
	s.c.dropped++
	if s.unreported == 0 {
		l.unrep = append(l.unrep, s)
	}
	s.unreported++
}

// report tells clients about drops, once their rings have room for it.
func (l *loop) report() {
	left := l.unrep[:0]
	for _, s := range l.unrep {
		if s.removed {
			continue
		}
		e := wire.ErrFrame{Code: wire.CodeSlowConsumer, SID: s.sid, Text: fmt.Appendf(nil, "%d messages dropped", s.unreported)}
		buf, err := s.c.out.Claim(wire.TypeErr, e.Size())
		if err != nil {
			left = append(left, s)
			continue
		}
		e.Encode(buf)
		l.commit(s.c)
		s.unreported = 0
	}
	l.unrep = left
	l.flush()
}

// status sends a router-made message (a status) to c on topic.
func (l *loop) status(c *client, topic, headers []byte) {
	m := wire.Msg{PubTime: uint64(ipc.MonotonicNanos()), Topic: topic, Headers: headers}
	buf, err := c.out.Claim(wire.TypeStatus, m.Size())
	if err != nil {
		return // the requester times out instead
	}
	m.Encode(buf)
	l.commit(c)
}

// publishSystem routes a router-made message on a $SYS topic (never stalls).
func (l *loop) publishSystem(topic string, data []byte) {
	m := wire.Msg{PubTime: uint64(ipc.MonotonicNanos()), Topic: []byte(topic), Data: data}
	if cap(l.frame) < m.Size() {
		l.frame = make([]byte, m.Size())
	}
	f := l.frame[:m.Size()]
	m.Encode(f)
	l.route(topic, f, &m, false)
	l.flush()
}
