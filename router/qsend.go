package router

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
	"github.com/shmbus/shmbus/router/queue"
)

// qhold is a queue record held at the head of a client's in ring: a send
// waiting for room in its queue (overflow Block), or a send or ctl whose
// answer is waiting for room in the client's out ring. The handler returned
// false, so the next pass presents the same record again, and the handler
// resumes from here instead of starting over (a push or a ctl is never done
// twice). Only the record at the head can be held, so one per client.
type qhold struct {
	kind     uint8
	rq       *rqueue // holdBlock: the queue it waits for
	deadline int64   // holdBlock: when the sender is refused (monotonic ns)
	id       uint64  // holdBlock, holdConfirm: the message id
	code     uint32  // holdConfirm
	text     string  // holdConfirm
	reply    []byte  // holdReply: the encoded TypeCtlReply frame
}

const (
	holdNone uint8 = iota
	holdBlock
	holdConfirm
	holdReply
)

// onSend handles a TypeSend record: the message frame (its topic the
// queue's name) is pushed into the queue as it is, and confirmed. It
// returns false to leave the record in c's ring: the queue (overflow
// Block) or c's out ring (for the confirm) has no room yet.
func (l *loop) onSend(c *client, p []byte) bool {
	if c.qhold.kind != holdNone {
		return l.resumeSend(c, p)
	}
	var m wire.Msg
	if err := wire.DecodeMsg(p, &m); err != nil {
		l.reject(c, wire.CodeBadRecord, 0, err)
		return true
	}
	if len(m.Reply) > 0 {
		if err := ValidateTopic(str(m.Reply)); err != nil {
			return l.confirm(c, m.ID, wire.CodeQueueInvalid, "reply: "+err.Error())
		}
	}
	rq := l.qs.queues[str(m.Topic)]
	if rq == nil {
		return l.confirm(c, m.ID, wire.CodeQueueNotFound, fmt.Sprintf("queue %q not found", m.Topic))
	}
	c.msgsIn++
	c.bytesIn += uint64(len(m.Data))
	return l.push(c, rq, &m, p)
}

// push pushes a sent frame into rq and confirms it, or holds the sender.
func (l *loop) push(c *client, rq *rqueue, m *wire.Msg, p []byte) bool {
	err := rq.q.Push(m.ID, m.Priority, int64(m.Deadline), p)
	l.qs.touch(rq)
	if err == nil {
		return l.confirm(c, m.ID, wire.CodeOK, "")
	}
	if errors.Is(err, queue.ErrWouldBlock) {
		c.qhold = qhold{kind: holdBlock, rq: rq, id: m.ID, deadline: ipc.MonotonicNanos() + int64(rq.block)}
		return false
	}
	code, text := pushError(rq, len(p), err)
	return l.confirm(c, m.ID, code, text)
}

// pushError is the confirm of a refused push.
func pushError(rq *rqueue, size int, err error) (uint32, string) {
	switch {
	case errors.Is(err, queue.ErrExpired):
		return wire.CodeMsgExpired, fmt.Sprintf("queue %q: message already past its deadline, not queued", rq.name)
	case errors.Is(err, queue.ErrTooLarge):
		return wire.CodeMsgTooLarge, fmt.Sprintf("queue %q: message frame of %d bytes is larger than the queue (max_bytes %d)", rq.name, size, rq.cfg.MaxBytes)
	case errors.Is(err, queue.ErrDuplicateID):
		return wire.CodeDuplicate, fmt.Sprintf("queue %q: a message with this id is already in the queue", rq.name)
	case errors.Is(err, queue.ErrQueueFull):
		return wire.CodeQueueFull, fmt.Sprintf("queue %q full (%d messages, %d bytes held; overflow %s)", rq.name, rq.q.Depth(), rq.q.Bytes(), rq.cfg.Overflow)
	}
	return wire.CodeQueueInvalid, fmt.Sprintf("queue %q: %v", rq.name, err)
}

// resumeSend goes on with a send held at the head of c's ring.
func (l *loop) resumeSend(c *client, p []byte) bool {
	h := &c.qhold
	switch h.kind {
	case holdConfirm:
		id, code, text := h.id, h.code, h.text
		*h = qhold{}
		return l.confirm(c, id, code, text)
	case holdBlock:
		rq, id := h.rq, h.id
		if rq.deleted {
			*h = qhold{}
			return l.confirm(c, id, wire.CodeQueueNotFound, fmt.Sprintf("queue %q deleted while the send waited for room", rq.name))
		}
		if !rq.q.Fits(len(p)) {
			if ipc.MonotonicNanos() < h.deadline {
				return false
			}
			*h = qhold{}
			rq.q.Refuse()
			return l.confirm(c, id, wire.CodeQueueFull, fmt.Sprintf("queue %q full: no room within its block timeout (%v)", rq.name, rq.block))
		}
		*h = qhold{}
		var m wire.Msg
		if err := wire.DecodeMsg(p, &m); err != nil { // decoded before: cannot fail
			l.reject(c, wire.CodeBadRecord, 0, err)
			return true
		}
		return l.push(c, rq, &m, p)
	}
	*h = qhold{} // a ctl reply's hold cannot sit on a send record
	return l.onSend(c, p)
}

// confirm answers a send. It returns false, keeping the confirm in c's hold,
// when c's out ring has no room for it (c is not reading its ring: only its
// own records wait).
func (l *loop) confirm(c *client, id uint64, code uint32, text string) bool {
	if n := c.out.MaxPayload() - wire.ConfirmFixed; len(text) > n {
		text = text[:max(n, 0)]
	}
	buf, err := c.out.Claim(wire.TypeConfirm, wire.ConfirmFixed+len(text))
	if err != nil {
		if errors.Is(err, ring.ErrFull) {
			c.qhold = qhold{kind: holdConfirm, id: id, code: code, text: text}
			return false
		}
		l.r.cfg.Logger.Error("confirm not sent", "id", c.id, "msg", id, "err", err)
		return true
	}
	cf := wire.Confirm{ID: id, Code: code}
	cf.Encode(buf[:wire.ConfirmFixed])
	copy(buf[wire.ConfirmFixed:], text)
	l.commit(c)
	return true
}

// pushBound pushes a published frame into every queue that has a binding
// matching topic, once per queue, and reports whether any binding matched:
// the message then did not go to nobody, whatever the queues answered. The
// publisher used Publish, so nothing is confirmed: a refused push is
// counted on the queue (bound_refused; the core counts it as rejected,
// expired or the like). A Block queue refuses at once: a publisher is
// never held for a binding.
func (l *loop) pushBound(topic string, frame []byte, m *wire.Msg) bool {
	qs := &l.qs
	qs.binds.Match(topic, &qs.bmatch)
	if len(qs.bmatch.Plain) == 0 {
		return false
	}
	qs.pubSeq++
	for _, s := range qs.bmatch.Plain {
		rq := bindOf(s).rq
		if rq.pubSeq == qs.pubSeq {
			continue // another of its bindings matched too
		}
		rq.pubSeq = qs.pubSeq
		switch err := rq.q.Push(m.ID, m.Priority, int64(m.Deadline), frame); {
		case err == nil:
			rq.boundIn++
		case errors.Is(err, queue.ErrWouldBlock):
			rq.q.Refuse()
			rq.boundRefused++
		default:
			rq.boundRefused++
		}
		qs.touch(rq)
	}
	return true
}
