package router

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router/queue"
)

// Headers the router sets on a dead letter.
const (
	// HeaderDeadReason says why the message died: expired, term,
	// max-deliveries or overflow.
	HeaderDeadReason = "Shmbus-Dead-Reason"
	// HeaderDeadQueue names the queue it died in. Its first value is the
	// latest; a message that died before keeps the earlier queues as
	// further values (newest first).
	HeaderDeadQueue = "Shmbus-Dead-Queue"
	// HeaderDeadDeliveries is how often it had been delivered (decimal).
	HeaderDeadDeliveries = "Shmbus-Dead-Deliveries"
)

// QueueAlert is the body (JSON) of the events published on
// QueueAlertTopic: a queue's fill reached an alert level (raised) or fell
// below it by the hysteresis (cleared).
type QueueAlert struct {
	Queue    string `json:"queue"`
	Level    uint8  `json:"level_pct"`
	Fill     uint8  `json:"fill_pct"`
	Raised   bool   `json:"raised"`
	Rejected uint64 `json:"rejected"` // the queue's totals at the transition
	Dropped  uint64 `json:"dropped"`
}

// QueueAlertTopic is where the alerts of queue name are published:
// $SYS.QUEUE.<name>.ALERT.
func QueueAlertTopic(name string) string { return "$SYS.QUEUE." + name + ".ALERT" }

// drainEvents acts on rq's events (dead letters, alerts) and clears them.
// Events a dead letter causes in rq itself (through a topic bound back to
// it) are appended while it runs and handled in the same drain.
func (l *loop) drainEvents(rq *rqueue) {
	q := rq.q
	for i := 0; i < len(q.Events()); i++ {
		e := q.Events()[i] // a copy: handling it may append to the slice
		switch e.Kind {
		case queue.EventDeadLetter:
			l.deadLetter(rq, &e)
		case queue.EventAlertRaised, queue.EventAlertCleared:
			l.queueAlert(rq, &e)
		case queue.EventRoom:
			// Held senders check Fits each time their record comes up:
			// nothing to do.
		}
	}
	q.ClearEvents()
}

// deadLetter forwards a dead letter to rq's target, as a message frame
// with the dead-letter headers, no deadline (the target's own TTL applies)
// and the target as its topic. A message that already died in rq once
// (a dead-letter cycle) is discarded, as are dead letters whose target
// queue is missing or refuses them; each is counted (dead_letter_lost).
func (l *loop) deadLetter(rq *rqueue, e *queue.Event) {
	qs := &l.qs
	var orig wire.Msg
	if err := wire.DecodeMsg(e.Payload, &orig); err != nil { // checked on the way in: cannot happen
		l.lostDeadLetter(rq, e, err.Error())
		return
	}
	hdrs, cycle, err := appendDeadHeaders(qs.hdrs[:0], orig.Headers, e.Reason.String(), rq.name, e.Deliveries)
	qs.hdrs = hdrs[:0]
	switch {
	case err != nil:
		l.lostDeadLetter(rq, e, err.Error())
		return
	case cycle:
		l.lostDeadLetter(rq, e, "it died in this queue before (a dead-letter cycle)")
		return
	}
	target := rq.dlTopic
	if rq.dlQueue != "" {
		target = rq.dlQueue
	}
	m := &qs.dlMsg // the loop's, so that routing it does not allocate one
	*m = wire.Msg{ID: orig.ID, PubTime: orig.PubTime, Priority: orig.Priority, Topic: bytesOf(target),
		Reply: orig.Reply, Headers: hdrs, Data: orig.Data}
	if cap(qs.frame) < m.Size() {
		qs.frame = make([]byte, m.Size())
	}
	frame := qs.frame[:m.Size()]
	m.Encode(frame)
	if rq.dlQueue == "" {
		matched := l.route(target, frame, m, false)
		if l.qs.nbinds > 0 && l.pushBound(target, frame, m) {
			matched = true
		}
		if !matched {
			l.noSubs++
		}
		return
	}
	tq := qs.queues[rq.dlQueue]
	if tq == nil {
		l.lostDeadLetter(rq, e, "the dead-letter queue does not exist")
		return
	}
	err = tq.q.Push(m.ID, m.Priority, 0, frame)
	qs.touch(tq)
	if err != nil {
		if errors.Is(err, queue.ErrWouldBlock) {
			tq.q.Refuse() // the loop holds no one for a dead letter
		}
		l.lostDeadLetter(rq, e, "the dead-letter queue refused it: "+err.Error())
	}
}

func (l *loop) lostDeadLetter(rq *rqueue, e *queue.Event, why string) {
	rq.deadLost++
	l.r.cfg.Logger.Warn("dead letter discarded", "queue", rq.name, "target", rq.cfg.DeadLetter, "msg", e.ID, "reason", e.Reason.String(), "why", why)
}

// bytesOf views s as bytes, read only.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// appendDeadHeaders appends to dst the header block src with the
// dead-letter headers set: HeaderDeadReason and HeaderDeadDeliveries
// replaced; queueName put first among the values of HeaderDeadQueue, the
// earlier ones kept after it. The other pairs keep their order, before
// ours. cycle reports (and nothing is appended) when queueName is among
// the earlier values. It allocates only to grow dst.
func appendDeadHeaders(dst, src []byte, reason, queueName string, deliveries uint32) (out []byte, cycle bool, err error) {
	var num [10]byte
	dv := strconv.AppendUint(num[:0], uint64(deliveries), 10)
	start := len(dst)
	dst = append(dst, 0, 0) // the count, set below
	count := 0
	err = wire.RangeHeaders(src, func(k, v []byte) bool {
		switch string(k) {
		case HeaderDeadQueue:
			cycle = cycle || string(v) == queueName
		case HeaderDeadReason, HeaderDeadDeliveries:
		default:
			dst = appendHeader(dst, k, v)
			count++
		}
		return true
	})
	if err != nil || cycle {
		return dst[:start], cycle, err
	}
	dst = appendHeader(dst, bytesOf(HeaderDeadReason), bytesOf(reason))
	dst = appendHeader(dst, bytesOf(HeaderDeadQueue), bytesOf(queueName))
	count += 2
	wire.RangeHeaders(src, func(k, v []byte) bool {
		if string(k) == HeaderDeadQueue {
			dst = appendHeader(dst, k, v)
			count++
		}
		return true
	})
	dst = appendHeader(dst, bytesOf(HeaderDeadDeliveries), dv)
	count++
	if count > 0xffff || len(dst)-start > wire.MaxHeaderLen {
		return dst[:start], false, fmt.Errorf("dead-letter header block of %d pairs, %d bytes exceeds the limits: %w", count, len(dst)-start, wire.ErrBadFrame)
	}
	binary.LittleEndian.PutUint16(dst[start:], uint16(count))
	return dst, false, nil
}

func appendHeader(dst, k, v []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(k)))
	dst = append(dst, k...)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// queueAlert publishes and logs a queue alert raised or cleared, as the
// ring alerts are (periodic.go).
func (l *loop) queueAlert(rq *rqueue, e *queue.Event) {
	s := rq.q.Stats()
	a := QueueAlert{Queue: rq.name, Level: e.Level, Fill: e.Fill, Raised: e.Kind == queue.EventAlertRaised, Rejected: s.Rejected, Dropped: s.Dropped}
	if a.Raised {
		l.r.cfg.Logger.Warn("queue high water", "queue", rq.name, "level_pct", a.Level, "fill_pct", a.Fill, "state", "raised", "depth", s.Depth, "rejected", a.Rejected, "dropped", a.Dropped)
	} else {
		l.r.cfg.Logger.Info("queue high water", "queue", rq.name, "level_pct", a.Level, "fill_pct", a.Fill, "state", "cleared", "depth", s.Depth)
	}
	body, _ := json.Marshal(a)
	l.publishSystem(QueueAlertTopic(rq.name), body)
}

// qheap is a binary min-heap of queues by their earliest pending deadline
// (rqueue.due), each knowing its index (rqueue.hidx): the loop finds the
// queues whose timers are due in O(k log n), never walking every queue.
type qheap []*rqueue

func (h *qheap) push(rq *rqueue) {
	rq.hidx = len(*h)
	*h = append(*h, rq)
	h.up(rq.hidx)
}

func (h *qheap) remove(rq *rqueue) {
	i, last := rq.hidx, len(*h)-1
	if i < 0 || i > last || (*h)[i] != rq {
		return
	}
	h.swap(i, last)
	(*h)[last] = nil
	*h = (*h)[:last]
	rq.hidx = -1
	if i != last {
		h.fix(i)
	}
}

func (h *qheap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h qheap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].hidx, h[j].hidx = i, j
}

func (h qheap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h qheap) down(i int) bool {
	start := i
	for {
		c := 2*i + 1
		if c >= len(h) {
			break
		}
		if r := c + 1; r < len(h) && h[r].due < h[c].due {
			c = r
		}
		if h[i].due <= h[c].due {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

// updateDue puts rq in the timer heap at its core's next deadline (or
// takes it out).
func (l *loop) updateDue(rq *rqueue) {
	h := &l.qs.timers
	due := rq.q.NextDeadline()
	switch {
	case due == rq.due:
	case rq.due == 0:
		rq.due = due
		h.push(rq)
	case due == 0:
		h.remove(rq)
		rq.due = 0
	default:
		rq.due = due
		h.fix(rq.hidx)
	}
}

// runTimers ticks the queues whose earliest deadline has come.
func (l *loop) runTimers() {
	h := &l.qs.timers
	if len(*h) == 0 {
		return
	}
	now := ipc.MonotonicNanos()
	for len(*h) > 0 && (*h)[0].due <= now {
		rq := (*h)[0]
		h.remove(rq)
		rq.due = 0
		rq.q.Tick(now)
		l.qs.touch(rq) // dispatch, events, and back in the heap
	}
}

// armTimer makes sure the wake-up timer fires by the earliest deadline:
// the loop may be parked then (parks last up to 100 ms), and a Nak delay
// or a TTL should not wait for that.
func (l *loop) armTimer() {
	qs := &l.qs
	if len(qs.timers) == 0 {
		return
	}
	due := qs.timers[0].due
	if qs.armed != 0 && qs.armed <= due {
		return // it fires in time; then the loop arms it again
	}
	qs.armed = due
	d := max(time.Duration(due-ipc.MonotonicNanos()), 0)
	if qs.timer == nil {
		qs.timer = time.AfterFunc(d, qs.fire)
	} else {
		qs.timer.Reset(d)
	}
}

// fire runs on the timer's goroutine: it only sets a flag and rings the
// router doorbell.
func (qs *qstate) fire() {
	qs.fired.Store(true)
	qs.wakeMu.Lock()
	defer qs.wakeMu.Unlock()
	if qs.wake != nil && !qs.closed {
		qs.wake()
	}
}

// checkTimers is periodic's safety net for the wake-up timer.
func (l *loop) checkTimers() {
	if h := l.qs.timers; len(h) > 0 && h[0].due <= ipc.MonotonicNanos() {
		l.qs.fired.Store(true)
	}
}
