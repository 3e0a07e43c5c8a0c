package router

import (
	"errors"
	"fmt"
	"time"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ring"
)

// onConsume handles a TypeConsume record: a new consumer of a queue.
func (l *loop) onConsume(c *client, p []byte) {
	var cm wire.Consume
	if err := wire.DecodeConsume(p, &cm); err != nil {
		l.reject(c, wire.CodeBadRecord, 0, err)
		return
	}
	if err := l.addConsumer(c, cm.SID, string(cm.Queue), cm.Prefetch, string(cm.Selector)); err != nil {
		l.reject(c, consumeCode(err), cm.SID, err)
	}
}

// consumeCode is the error code of a refused consumer.
func consumeCode(err error) uint32 {
	if errors.Is(err, errSIDInUse) {
		return wire.CodeBadSub
	}
	return ctlCode(err)
}

var errSIDInUse = errors.New("shmbus: subscription id in use")

// addConsumer registers consumer sid of c on the queue named name.
func (l *loop) addConsumer(c *client, sid uint64, name string, prefetch uint32, sel string) error {
	if _, dup := c.subs[sid]; dup || c.qcons[sid] != nil {
		return fmt.Errorf("consume %q: subscription id %d: %w", name, sid, errSIDInUse)
	}
	rq, err := l.lookup(c, name, true)
	if err != nil {
		return fmt.Errorf("consume: %w", err)
	}
	if prefetch == 0 {
		prefetch = DefaultPrefetch
	}
	if prefetch > wire.MaxPrefetch {
		return fmt.Errorf("consume %q: prefetch %d above %d: %w", name, prefetch, wire.MaxPrefetch, errQueueInvalid)
	}
	qc := &qconsumer{sid: sid, c: c, rq: rq, prefetch: int(prefetch)}
	if sel != "" {
		if qc.sel, err = selector.Compile(sel); err != nil {
			return fmt.Errorf("consume %q: %w: %w", name, errQueueInvalid, err)
		}
	}
	l.qs.nextCID++
	qc.id = l.qs.nextCID
	if err := rq.q.AddConsumer(qc.id, qc.prefetch); err != nil {
		return fmt.Errorf("consume: %w: %w", errQueueInvalid, err)
	}
	if qc.sel != nil {
		rq.q.SetFilter(qc.id, qc.accept)
	}
	qc.idx = len(rq.consumers)
	rq.consumers = append(rq.consumers, qc)
	if c.qcons == nil {
		c.qcons = make(map[uint64]*qconsumer)
	}
	c.qcons[sid] = qc
	l.qs.touch(rq)
	return nil
}

// accept is a consumer's queue.Filter: its selector on the stored frame.
func (qc *qconsumer) accept(prio uint8, frame []byte) bool {
	var m wire.Msg
	if wire.DecodeMsg(frame, &m) != nil {
		return false // cannot happen: frames are checked on the way in
	}
	return qc.sel.EvalChecked(m.Topic, prio, m.Headers) // DecodeMsg checked the block
}

// stopConsumer removes a consumer (unsubscribed, or its client is gone):
// its unsettled messages come back at once, their delivery count kept.
func (l *loop) stopConsumer(qc *qconsumer) {
	if qc.gone {
		return
	}
	qc.gone = true
	rq := qc.rq
	if n, err := rq.q.ConsumerGone(qc.id); err == nil && n > 0 {
		l.r.cfg.Logger.Debug("consumer gone: deliveries back in the queue", "queue", rq.name, "client", qc.c.id, "sid", qc.sid, "messages", n)
	}
	rq.consumers = append(rq.consumers[:qc.idx], rq.consumers[qc.idx+1:]...)
	for i := qc.idx; i < len(rq.consumers); i++ {
		rq.consumers[i].idx = i
	}
	if rq.rr > qc.idx {
		rq.rr--
	}
	delete(qc.c.qcons, qc.sid)
	l.qs.touch(rq)
}

// onSettle handles a TypeSettle record. Only the consumer holding the
// delivery may settle it; anything else is refused with an error frame
// (CodeNotHeld) on the sid, and the queue is left as it was.
func (l *loop) onSettle(c *client, p []byte) {
	var s wire.Settle
	if err := wire.DecodeSettle(p, &s); err != nil {
		l.reject(c, wire.CodeBadRecord, 0, err)
		return
	}
	qc := c.qcons[s.SID]
	if qc == nil {
		l.notHeld(c, &s, "no queue consumer has this sid")
		return
	}
	q := qc.rq.q
	if holder, ok := q.Holder(s.ID); !ok || holder != qc.id {
		l.notHeld(c, &s, "the message is not in flight with this consumer (settled already, redelivered, or never delivered to it)")
		return
	}
	switch s.Op { // Holder checked it is in flight with qc: these succeed
	case wire.SettleAck:
		q.Ack(s.ID)
	case wire.SettleNak:
		q.Nak(s.ID, nakDelay(s.Delay))
	case wire.SettleTerm:
		q.Term(s.ID)
	case wire.SettleInProgress:
		q.InProgress(s.ID)
	}
	l.qs.touch(qc.rq)
}

// maxNakDelay bounds a Nak delay (a deadline must not overflow).
const maxNakDelay = 24 * time.Hour * 365

func nakDelay(ns uint64) time.Duration {
	if ns > uint64(maxNakDelay) {
		return maxNakDelay
	}
	return time.Duration(ns)
}

// notHeld refuses a settle: counted, logged at debug level (a settle that
// lost a race with an ack timeout is not a client bug), told to c.
func (l *loop) notHeld(c *client, s *wire.Settle, why string) {
	c.rejected++
	err := fmt.Errorf("settle op %d of message %d on sid %d refused: %s", s.Op, s.ID, s.SID, why)
	l.r.cfg.Logger.Debug("settle refused", "id", c.id, "name", c.name, "err", err)
	l.tell(c, wire.CodeNotHeld, s.SID, err)
}

// dispatch hands rq's ready messages to its consumers, round robin, each
// consumer one message per round while it has credit, a message its
// selector accepts, and room in its ring. It returns the deliveries made.
// Cost: O(deliveries + consumers) calls into the core.
func (l *loop) dispatch(rq *rqueue) int {
	n := len(rq.consumers)
	if n == 0 || rq.q.Ready() == 0 {
		return 0
	}
	round := l.qs.scratch[:0]
	for i := range n {
		round = append(round, rq.consumers[(rq.rr+i)%n])
	}
	made := 0
	for len(round) > 0 && rq.q.Ready() > 0 {
		k := 0
		for _, qc := range round {
			if l.deliverOne(qc) {
				made++
				rq.rr = (qc.idx + 1) % n
				round[k] = qc
				k++
			}
		}
		round = round[:k]
	}
	clear(round[:cap(round)])
	l.qs.scratch = round[:0]
	return made
}

// deliverOne hands qc the next message for it, if it has one and room.
func (l *loop) deliverOne(qc *qconsumer) bool {
	q := qc.rq.q
	size, ok := q.PeekFor(qc.id)
	if !ok {
		return false
	}
	c := qc.c
	buf, err := c.out.Claim(wire.TypeMsg, size)
	if err != nil {
		if errors.Is(err, ring.ErrFull) {
			l.waitRoom(qc, size)
		} else if !qc.tooLarge {
			// Another client's ring took it; this one never will. It
			// goes to consumers with larger rings (or expires).
			qc.tooLarge = true
			l.r.cfg.Logger.Warn("queue message larger than the consumer's ring takes", "queue", qc.rq.name,
				"client", c.id, "name", c.name, "sid", qc.sid, "size", size, "err", err)
		}
		return false
	}
	d, ok := q.NextFor(qc.id)
	if !ok || len(d.Payload) != size { // cannot happen: NextFor hands out PeekFor's choice
		c.out.Abort()
		return false
	}
	copy(buf, d.Payload)
	wire.SetDelivery(buf, qc.sid, wire.FlagQueued, d.Deliveries)
	l.commit(c)
	qc.delivered++
	c.msgsOut++
	c.bytesOut += uint64(size)
	return true
}

// waitRoom remembers that qc's ring had no room for size bytes.
func (l *loop) waitRoom(qc *qconsumer, size int) {
	if qc.need == 0 {
		l.qs.waiting = append(l.qs.waiting, qc)
	}
	qc.need = size + ring.HeaderLength
}

// retryWaiting touches the queues of waiting consumers whose ring has room
// now. The loop polls it on every pass while some wait; idle, it parks (a
// consumer's settle rings it awake, and parks last 100 ms at most).
func (l *loop) retryWaiting() {
	qs := &l.qs
	left := qs.waiting[:0]
	for _, qc := range qs.waiting {
		switch {
		case qc.gone:
			qc.need = 0
		case qc.c.out.Free() >= qc.need:
			qc.need = 0
			qs.touch(qc.rq)
		default:
			left = append(left, qc)
		}
	}
	clear(qs.waiting[len(left):])
	qs.waiting = left
}

// resumeConsumer re-registers a consumer a reconnecting client named in
// its Hello.
func (l *loop) resumeConsumer(c *client, s *wire.SubSpec) {
	if err := l.addConsumer(c, s.SID, s.Queue, s.Prefetch, s.Selector); err != nil {
		l.r.cfg.Logger.Warn("resumed queue consumer refused", "id", c.id, "sid", s.SID, "queue", s.Queue, "err", err)
		l.tell(c, consumeCode(err), s.SID, err)
	}
}
