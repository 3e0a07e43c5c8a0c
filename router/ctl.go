package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

// onCtl handles a TypeCtl record (queue management) and answers it with a
// TypeCtlReply carrying the same token and op: code 0 and a JSON body, or
// a CodeQueue* code and the error text. A frame too short to carry a token
// cannot be answered and is rejected (TypeErr, CodeBadRecord). It returns
// false, keeping the encoded reply, while c's out ring has no room for it:
// the request is carried out once, the reply sent when there is room.
func (l *loop) onCtl(c *client, p []byte) bool {
	if c.qhold.kind == holdReply {
		frame := c.qhold.reply
		c.qhold = qhold{}
		return l.sendReply(c, frame)
	}
	c.qhold = qhold{} // a send's hold cannot sit on a ctl record
	var req wire.Ctl
	if err := wire.DecodeCtl(p, &req); err != nil {
		l.reject(c, wire.CodeBadRecord, 0, err)
		return true
	}
	rep := wire.Ctl{Token: req.Token, Op: req.Op}
	v, err := l.ctl(c, &req)
	if err == nil {
		if rep.Body, err = json.Marshal(v); err != nil {
			err = fmt.Errorf("ctl op %d: encoding the reply: %w: %w", req.Op, errQueueInvalid, err)
		}
	}
	if err != nil {
		rep.Code, rep.Body = ctlCode(err), []byte(err.Error())
		l.r.cfg.Logger.Debug("queue request refused", "id", c.id, "name", c.name, "op", req.Op, "code", rep.Code, "err", err)
	}
	if limit := c.out.MaxPayload(); rep.Size() > limit {
		rep.Code = wire.CodeQueueInvalid
		rep.Body = fmt.Appendf(nil, "ctl op %d: the reply of %d bytes is more than this connection's ring takes (%d): ask for less (CtlInfo per queue) or use a larger ring",
			req.Op, rep.Size(), limit)
	}
	frame := make([]byte, rep.Size())
	rep.Encode(frame)
	return l.sendReply(c, frame)
}

// sendReply writes an encoded ctl reply to c, or keeps it in c's hold.
func (l *loop) sendReply(c *client, frame []byte) bool {
	buf, err := c.out.Claim(wire.TypeCtlReply, len(frame))
	if err != nil {
		if errors.Is(err, ring.ErrFull) {
			c.qhold = qhold{kind: holdReply, reply: frame}
			return false
		}
		l.r.cfg.Logger.Error("ctl reply not sent", "id", c.id, "err", err)
		return true
	}
	copy(buf, frame)
	l.commit(c)
	return true
}

// ctl carries out one queue request and returns the reply body.
func (l *loop) ctl(c *client, req *wire.Ctl) (any, error) {
	switch req.Op {
	case wire.CtlDeclare:
		var d wire.QueueDeclare
		if err := wire.UnmarshalCtlBody(req.Op, req.Body, &d); err != nil {
			return nil, err
		}
		rq, err := l.declare(c, &d)
		if err != nil {
			return nil, err
		}
		return l.info(rq), nil
	case wire.CtlDelete, wire.CtlPurge, wire.CtlInfo:
		var ref wire.QueueRef
		if err := wire.UnmarshalCtlBody(req.Op, req.Body, &ref); err != nil {
			return nil, err
		}
		rq, err := l.lookup(c, ref.Name, req.Op != wire.CtlInfo)
		if err != nil {
			return nil, err
		}
		switch req.Op {
		case wire.CtlDelete:
			info := l.info(rq)
			if _, err := l.qs.reg.Delete(rq.name); err != nil {
				return nil, err
			}
			l.deleteQueue(rq, fmt.Sprintf("deleted by connection %d", c.id))
			return info, nil
		case wire.CtlPurge:
			n := rq.q.Purge()
			l.qs.touch(rq) // alerts cleared, room for held senders
			info := l.info(rq)
			info.Purged = uint64(n) // this request's, as the reply documents
			return info, nil
		}
		return l.info(rq), nil
	case wire.CtlBind, wire.CtlUnbind:
		var b wire.QueueBinding
		if err := wire.UnmarshalCtlBody(req.Op, req.Body, &b); err != nil {
			return nil, err
		}
		rq, err := l.lookup(c, b.Name, true)
		if err != nil {
			return nil, err
		}
		if req.Op == wire.CtlBind {
			err = l.bind(rq, b.Pattern)
		} else {
			err = l.unbind(rq, b.Pattern)
		}
		if err != nil {
			return nil, err
		}
		return l.info(rq), nil
	case wire.CtlList:
		infos := make([]wire.QueueInfo, 0, l.qs.reg.Len())
		for _, name := range l.qs.reg.Names() {
			if rq := l.qs.queues[name]; rq != nil {
				infos = append(infos, l.info(rq))
			}
		}
		return infos, nil
	}
	return nil, fmt.Errorf("unknown ctl op %d: %w", req.Op, errQueueInvalid)
}

// info describes rq as the wire's QueueInfo.
func (l *loop) info(rq *rqueue) wire.QueueInfo {
	s := rq.q.Stats()
	return wire.QueueInfo{
		Name:      rq.name,
		Private:   rq.private,
		Config:    rq.cfg,
		Bindings:  slices.Clone(rq.q.Bindings()),
		Consumers: s.Consumers,

		Depth:    s.Depth,
		Bytes:    s.Bytes,
		Ready:    s.Ready,
		InFlight: s.InFlight,
		Delayed:  s.Delayed,
		Fill:     s.Fill,
		Alert:    s.Alert,

		Enqueued:     s.Enqueued,
		Delivered:    s.Delivered,
		Redelivered:  s.Redelivered,
		Acked:        s.Acked,
		Naked:        s.Naked,
		Termed:       s.Termed,
		Expired:      s.Expired,
		Rejected:     s.Rejected,
		Dropped:      s.Dropped,
		DeadLettered: s.DeadLettered,
		Blocked:      s.Blocked,
		Purged:       s.Purged,
	}
}
