package bus

import (
	"bytes"
	"fmt"
	"math"
	"runtime"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

const (
	// readBatch bounds the records one Read pass hands over, so that Close
	// and the room the router waits for are not held up by a long pass.
	readBatch = 256
	// maxInternedTopics bounds the dispatcher's cache of topic strings
	// (topics of wildcard subscriptions); it starts over when full.
	maxInternedTopics = 4096
)

// dispatcher is the state of whoever reads the out ring: the dispatcher
// goroutine, or a Request waiting for its answer (see request.go). Only the
// holder of Conn.readMu touches it; the mutex orders one holder's writes
// before the next holder's reads.
type dispatcher struct {
	onRecordFn ring.Handler      // c.onRecord, made once (a method value allocates)
	dcond      dispatchCond      // what the idle strategy parks on
	wm         wire.Msg          // the message being delivered
	ef         wire.ErrFrame     // the error frame being handled
	conf       wire.Confirm      // the confirm being handled
	ctlf       wire.Ctl          // the queue reply being handled
	dmsg       Msg               // the Msg handed to handlers, reused
	topics     map[string]string // interned topics
}

func (c *Conn) initDispatcher() {
	c.onRecordFn = c.onRecord
	c.dcond.c = c
	c.topics = make(map[string]string)
	c.resume = make(chan struct{}, 1)
}

// dispatchCond is ready when the out ring has a record, a Request has
// taken over the reading, or Close asks the dispatcher to stop (Close rings
// the ring's doorbell after asking).
type dispatchCond struct{ c *Conn }

func (d *dispatchCond) Ready() bool {
	return d.c.stop.Load() || d.c.stealers.Load() > 0 || d.c.cons.Ready()
}
func (d *dispatchCond) Doorbell() *ipc.Doorbell { return d.c.cons.Doorbell() }

// dispatch reads the out ring until Close, then cleans up. While Requests
// wait for answers they read the ring themselves (request.go) and the
// dispatcher steps aside, waiting on c.resume: one poller per process
// instead of two, and no goroutine hand-off on the answer's path.
func (c *Conn) dispatch() {
	defer c.cleanup()
	idle := c.opts.newIdle()
	for !c.stop.Load() {
		if c.stealers.Load() > 0 {
			<-c.resume // sent by the last Request to leave, and by shutdown
			idle.Reset()
			continue
		}
		if !c.cons.Ready() {
			idle.Idle(&c.dcond)
			continue
		}
		if !c.readMu.TryLock() {
			runtime.Gosched() // a Request is in a pass
			continue
		}
		n, err := c.readPass()
		c.readMu.Unlock()
		if n > 0 {
			idle.Reset()
			continue
		}
		if err != nil {
			c.asyncErr(nil, fmt.Errorf("shmbus: the router's ring to this client is corrupt, closing: %w", err))
			c.shutdown(fromDispatcher)
			return
		}
	}
}

// readPass reads up to readBatch records, dispatching each; it reports the
// ring's error when it read nothing. readMu must be held.
func (c *Conn) readPass() (int, error) {
	c.busy.Store(true)
	n := c.cons.Read(c.onRecordFn, readBatch)
	c.busy.Store(false)
	if n > 0 {
		return n, nil
	}
	return 0, c.cons.Err()
}

func (c *Conn) onRecord(typ, _ uint16, p []byte) {
	switch typ {
	case wire.TypeMsg:
		c.onMsg(p, false)
	case wire.TypeStatus:
		c.onMsg(p, true)
	case wire.TypePong:
		c.onPong(p)
	case wire.TypeErr:
		c.onErrFrame(p)
	case wire.TypeConfirm:
		c.onConfirm(p)
	case wire.TypeCtlReply:
		c.onCtlReply(p)
	default:
		c.asyncErr(nil, fmt.Errorf("%w: record type %d from the router, skipped", ErrRejected, typ))
	}
}

// onMsg delivers a TypeMsg, or a TypeStatus (a request that reached no
// subscriber, addressed to its reply topic).
func (c *Conn) onMsg(p []byte, status bool) {
	m := &c.wm
	if err := wire.DecodeMsg(p, m); err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable message from the router, skipped: %w", err))
		return
	}
	c.stats.inMsgs.Add(1)
	c.stats.inBytes.Add(uint64(len(m.Data)))
	c.subsMu.RLock()
	s := c.subs[m.SID]
	c.subsMu.RUnlock()
	if s == nil && status {
		// A status may not name the inbox subscription; its topic does.
		if ib := c.inbox.Load(); ib != nil && hasPrefixDot(m.Topic, ib.prefix) {
			s = ib
		}
	}
	if s == nil {
		return // unsubscribed while the message was on its way
	}
	// A queue redelivers with the same id, and out of sequence order
	// (priorities): consumers are not filtered.
	if !s.isConsumer() && !s.seen.admit(m.ID) {
		c.stats.duplicates.Add(1) // routed again by a restarted router: see dedupe.go
		return
	}
	if m.Deadline != 0 && int64(m.Deadline) <= MonotonicNanos() {
		// It expired while it waited in the ring: never handed over.
		s.expired.Add(1)
		c.stats.expired.Add(1)
		if m.Flags&wire.FlagQueued != 0 {
			c.nakBack(s, m.ID) // the queue then expires it
		}
		return
	}
	switch s.kind {
	case subAsync:
		c.deliverAsync(s)
	case subSync, subChan:
		c.deliverCopy(s)
	case subInbox:
		c.onReply(s, status)
	}
}

// deliverAsync hands the message to a handler, zero copy: dmsg and the
// ring bytes it points at are valid until the handler returns.
func (c *Conn) deliverAsync(s *Subscription) {
	m, d := &c.wm, &c.dmsg
	*d = Msg{
		Topic:      c.topicOf(s, m.Topic),
		Data:       m.Data,
		Priority:   Priority{p: int(m.Priority) + 1},
		Deadline:   int64(m.Deadline),
		ID:         m.ID,
		PubTime:    int64(m.PubTime),
		Deliveries: m.Deliveries,
		Sub:        s,
		conn:       c,
		sid:        s.sid,
		queued:     m.Flags&wire.FlagQueued != 0,
	}
	if len(m.Reply) > 0 {
		d.Reply = string(m.Reply)
	}
	if len(m.Headers) > 0 {
		d.Header = c.decodeHeader(m.Headers)
	}
	s.delivered.Add(1)
	s.cb(d)
	d.Data = nil // a Msg kept against the rules shows no data rather than stale bytes
}

// deliverCopy gives a sync or channel subscription an owned copy, never
// waiting: a full buffer drops the message.
func (c *Conn) deliverCopy(s *Subscription) {
	o := c.ownedMsg(s)
	s.delivered.Add(1) // before the receiver can see it
	select {
	case s.ch <- o:
		if s.kind == subChan && s.slow.Load() {
			s.slow.Store(false)
		}
	default:
		s.delivered.Add(math.MaxUint64) // -1: it was not
		s.localDropped.Add(1)
		c.stats.localDropped.Add(1)
		if o.queued {
			c.nakBack(s, o.ID) // another consumer, or this one later, gets it
		}
		if !s.slow.Swap(true) && c.opts.errHandler != nil {
			c.asyncErr(s, fmt.Errorf("%w: subscription %q: its buffer of %d messages is full", ErrSlowConsumer, s.subject(), cap(s.ch)))
		}
	}
}

// ownedMsg copies the message being delivered out of the ring.
func (c *Conn) ownedMsg(s *Subscription) *Msg {
	m := &c.wm
	o := &Msg{
		Topic:      c.topicOf(s, m.Topic),
		Data:       bytes.Clone(m.Data),
		Priority:   Priority{p: int(m.Priority) + 1},
		Deadline:   int64(m.Deadline),
		ID:         m.ID,
		PubTime:    int64(m.PubTime),
		Deliveries: m.Deliveries,
		Sub:        s,
		conn:       c,
		sid:        s.sid,
		queued:     m.Flags&wire.FlagQueued != 0,
	}
	if len(m.Reply) > 0 {
		o.Reply = string(m.Reply)
	}
	if len(m.Headers) > 0 {
		o.Header = c.decodeHeader(m.Headers)
	}
	return o
}

// topicOf returns the topic as a string without allocating in the common
// cases: a literal subscription's topic is its pattern, and the topics of
// wildcard subscriptions are interned.
func (c *Conn) topicOf(s *Subscription, b []byte) string {
	if s != nil && s.literal && s.Pattern == string(b) {
		return s.Pattern
	}
	if s == nil || s.kind == subInbox {
		return string(b) // reply topics are unique: not worth interning
	}
	if t, ok := c.topics[string(b)]; ok {
		return t
	}
	if len(c.topics) >= maxInternedTopics {
		clear(c.topics)
	}
	t := string(b)
	c.topics[t] = t
	return t
}

func (c *Conn) decodeHeader(b []byte) Header {
	h, err := wire.DecodeHeaders(b)
	if err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable message headers from the router: %w", err))
		return nil
	}
	return Header(h)
}

// onReply routes an answer (or a no-responders status) on the inbox to the
// Request waiting for it; the token is the last token of the reply topic.
func (c *Conn) onReply(ib *Subscription, status bool) {
	token, ok := replyToken(c.wm.Topic, ib.prefix)
	if !ok {
		return
	}
	c.reqMu.Lock()
	ch := c.reqs[token]
	delete(c.reqs, token) // the first answer wins
	c.reqMu.Unlock()
	if ch == nil {
		return // late, or a second responder
	}
	if status {
		ch <- reqResult{err: ErrNoResponders}
	} else {
		m := c.ownedMsg(ib)
		m.Sub = nil
		ch <- reqResult{msg: m}
	}
	// The Request may be parked on the out ring's doorbell (its idle
	// strategy's last phase) while another reader dispatched its answer.
	// Ring is one atomic load when nobody waits.
	c.cons.Doorbell().Ring()
}

func hasPrefixDot(topic []byte, prefix string) bool {
	return len(topic) > len(prefix) && topic[len(prefix)] == '.' && string(topic[:len(prefix)]) == prefix
}

// replyToken parses "<prefix>.<decimal token>".
func replyToken(topic []byte, prefix string) (uint64, bool) {
	if !hasPrefixDot(topic, prefix) {
		return 0, false
	}
	digits := topic[len(prefix)+1:]
	if len(digits) == 0 || len(digits) > 19 {
		return 0, false
	}
	var v uint64
	for _, d := range digits {
		if d < '0' || d > '9' {
			return 0, false
		}
		v = v*10 + uint64(d-'0')
	}
	return v, true
}

func (c *Conn) onPong(p []byte) {
	token, err := wire.DecodeU64(p)
	if err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable pong from the router: %w", err))
		return
	}
	c.pingMu.Lock()
	ch := c.pings[token]
	delete(c.pings, token)
	c.pingMu.Unlock()
	if ch != nil {
		close(ch)
		return
	}
	c.onSweepPong(token)
}

func (c *Conn) onErrFrame(p []byte) {
	e := &c.ef
	if err := wire.DecodeErr(p, e); err != nil {
		c.asyncErr(nil, fmt.Errorf("shmbus: undecodable error frame from the router: %w", err))
		return
	}
	var s *Subscription
	if e.SID != 0 {
		c.subsMu.RLock()
		s = c.subs[e.SID]
		c.subsMu.RUnlock()
	}
	switch e.Code {
	case wire.CodeSlowConsumer:
		n := leadingCount(e.Text)
		c.stats.dropped.Add(n)
		if s != nil {
			s.routerDropped.Add(n)
		}
		if c.opts.errHandler != nil {
			c.asyncErr(s, fmt.Errorf("%w: subscription %d: router: %s", ErrSlowConsumer, e.SID, e.Text))
		}
	case wire.CodeBadSub, wire.CodeQueueNotFound, wire.CodeQueueDeleted, wire.CodeQueueInvalid:
		if s == nil {
			if e.Code == wire.CodeBadSub {
				return // a sid this router never knew, e.g. an unsubscribe across a reconnect
			}
			c.asyncErr(nil, fmt.Errorf("shmbus: %w", codeErr(e.Code, e.Text)))
			return
		}
		// The router refused or ended the subscription or consumer.
		err := fmt.Errorf("%w: router refused %q: %s", ErrBadSubscription, s.subject(), e.Text)
		if e.Code != wire.CodeBadSub {
			err = fmt.Errorf("shmbus: %s: %w", s.subject(), codeErr(e.Code, e.Text))
		}
		s.endedBy(err)
		c.removeSub(s)
		if !s.starting.Load() { // else Consume returns it
			c.asyncErr(s, err)
		}
	case wire.CodeNotHeld:
		c.asyncErr(s, fmt.Errorf("shmbus: settle: %w", codeErr(e.Code, e.Text)))
	case wire.CodeBadRecord:
		c.asyncErr(s, fmt.Errorf("%w: %s", ErrRejected, e.Text))
	default:
		c.asyncErr(s, fmt.Errorf("%w: error code %d: %s", ErrRejected, e.Code, e.Text))
	}
}

// leadingCount reads the number of dropped messages a slow-consumer report
// starts with ("12 messages dropped ..."); without one it counts 1.
func leadingCount(text []byte) uint64 {
	var v uint64
	i := 0
	for ; i < len(text) && i < 19 && text[i] >= '0' && text[i] <= '9'; i++ {
		v = v*10 + uint64(text[i]-'0')
	}
	if i == 0 || v == 0 {
		return 1
	}
	return v
}

// asyncErr hands err to the error handler, if there is one, on the
// callback goroutine.
func (c *Conn) asyncErr(s *Subscription, err error) {
	if h := c.opts.errHandler; h != nil {
		c.cb.push(func() { h(c, s, err) }, true)
	}
}
