package bus

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
)

// The fake router's queues: the simplest thing that answers TypeCtl,
// TypeSend, TypeConsume and TypeSettle correctly for the client's tests.
// Priority order (higher first, FIFO within a level), prefetch, Nak with
// redelivery (Deliveries counts up), Term, a consumer's deliveries going
// back when it ends, bindings, private queues, MaxMsgs with overflow
// reject. No ack timeout, no TTL of its own, no dead letters. Everything
// here belongs to the loop goroutine, except what the mutex guards.
type fakeQueues struct {
	queues  map[string]*fakeQueue
	private int

	confirmOnly atomic.Bool // confirm every send without queueing it (allocation tests)
	noConfirm   atomic.Bool // queue sends but never confirm them (a router dying in between)

	qmu     sync.Mutex
	settles []wire.Settle // every settle received
	ctlOps  []uint16      // every ctl op received
}

type fakeQueue struct {
	name     string
	owner    *fakeClient // private queues: deleted with it
	cfg      wire.QueueConfig
	bindings []string
	msgs     []*fakeQMsg // ready, delayed and in flight, in delivery order
	info     wire.QueueInfo
}

type fakeQMsg struct {
	id         uint64
	prio       uint8
	frame      []byte
	deliveries uint32
	holder     *fakeClient // in flight with (holder, sid)
	sid        uint64
	notBefore  time.Time // after a Nak with a delay
}

// fakeDefaults fills in what the router fills in.
func fakeDefaults(c wire.QueueConfig) wire.QueueConfig {
	if c.MaxMsgs == 0 {
		c.MaxMsgs = 100_000
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = 64 << 20
	}
	if c.Overflow == "" {
		c.Overflow = "reject"
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = 30 * time.Second
	}
	if c.Starvation == "" {
		c.Starvation = "strict"
	}
	if c.Durability == "" {
		c.Durability = "none"
	}
	return c
}

func (f *fakeRouter) settleLog() []wire.Settle {
	f.qmu.Lock()
	defer f.qmu.Unlock()
	return slices.Clone(f.settles)
}

func (f *fakeRouter) onQueueRecord(c *fakeClient, typ uint16, p []byte) {
	if f.queues == nil {
		f.queues = map[string]*fakeQueue{}
	}
	switch typ {
	case wire.TypeCtl:
		var req wire.Ctl
		if err := wire.DecodeCtl(p, &req); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		f.qmu.Lock()
		f.ctlOps = append(f.ctlOps, req.Op)
		f.qmu.Unlock()
		code, body := f.ctl(c, req.Op, req.Body)
		rep := wire.Ctl{Token: req.Token, Op: req.Op, Code: code, Body: body}
		if buf, err := c.out.Claim(wire.TypeCtlReply, rep.Size()); err == nil {
			rep.Encode(buf)
			c.out.Commit()
		}
	case wire.TypeSend:
		var m wire.Msg
		if err := wire.DecodeMsg(p, &m); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		if f.confirmOnly.Load() {
			f.confirm(c, m.ID, wire.CodeOK, "")
			return
		}
		code, text := f.enqueue(string(m.Topic), &m, p)
		if !f.noConfirm.Load() {
			f.confirm(c, m.ID, code, text)
		}
	case wire.TypeConsume:
		var con wire.Consume
		if err := wire.DecodeConsume(p, &con); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		if _, ok := f.queues[string(con.Queue)]; !ok {
			f.sendErr(c, wire.CodeQueueNotFound, con.SID, fmt.Sprintf("no queue %q", con.Queue))
			return
		}
		if _, dup := c.subs[con.SID]; dup {
			f.sendErr(c, wire.CodeBadSub, con.SID, "duplicate sid")
			return
		}
		if len(con.Selector) > 0 {
			if _, err := selector.Compile(string(con.Selector)); err != nil {
				f.sendErr(c, wire.CodeBadSub, con.SID, err.Error())
				return
			}
		}
		c.subs[con.SID] = wire.SubSpec{SID: con.SID, Queue: string(con.Queue), Prefetch: con.Prefetch, Selector: string(con.Selector)}
	case wire.TypeSettle:
		var s wire.Settle
		if err := wire.DecodeSettle(p, &s); err != nil {
			f.sendErr(c, wire.CodeBadRecord, 0, err.Error())
			return
		}
		f.qmu.Lock()
		f.settles = append(f.settles, s)
		f.qmu.Unlock()
		f.settle(c, &s)
	}
}

func (f *fakeRouter) confirm(c *fakeClient, id uint64, code uint32, text string) {
	cf := wire.Confirm{ID: id, Code: code}
	if text != "" {
		cf.Text = []byte(text)
	}
	if buf, err := c.out.Claim(wire.TypeConfirm, cf.Size()); err == nil {
		cf.Encode(buf)
		c.out.Commit()
	}
}

// ctl carries out one queue-management request.
func (f *fakeRouter) ctl(c *fakeClient, op uint16, body []byte) (uint32, []byte) {
	fail := func(code uint32, format string, a ...any) (uint32, []byte) {
		return code, fmt.Appendf(nil, format, a...)
	}
	reply := func(v any) (uint32, []byte) {
		b, err := wire.MarshalCtlBody(v)
		if err != nil {
			return fail(wire.CodeQueueInvalid, "%v", err)
		}
		return wire.CodeOK, b
	}
	var req struct {
		Name    string           `json:"name"`
		Pattern string           `json:"pattern"`
		Config  wire.QueueConfig `json:"config"`
	}
	if op != wire.CtlList {
		if err := wire.UnmarshalCtlBody(op, body, &req); err != nil {
			return fail(wire.CodeQueueInvalid, "%v", err)
		}
	}
	q := f.queues[req.Name]
	if q == nil && op != wire.CtlDeclare && op != wire.CtlList {
		return fail(wire.CodeQueueNotFound, "no queue %q", req.Name)
	}
	switch op {
	case wire.CtlDeclare:
		cfg := fakeDefaults(req.Config)
		if q != nil {
			if !reflect.DeepEqual(q.cfg, cfg) {
				return fail(wire.CodeQueueConflict, "queue %q exists with another config", req.Name)
			}
			return reply(f.info(q))
		}
		q = &fakeQueue{name: req.Name, cfg: cfg}
		if q.name == "" {
			f.private++
			q.name = fmt.Sprintf("_PRIV.%d.%d", c.id, f.private)
			q.owner = c
		}
		f.queues[q.name] = q
		return reply(f.info(q))
	case wire.CtlDelete:
		info := f.info(q)
		f.deleteQueue(q)
		return reply(info)
	case wire.CtlBind:
		if ValidatePattern(req.Pattern) != nil {
			return fail(wire.CodeQueueInvalid, "bad pattern %q", req.Pattern)
		}
		if !slices.Contains(q.bindings, req.Pattern) {
			q.bindings = append(q.bindings, req.Pattern)
		}
		return reply(f.info(q))
	case wire.CtlUnbind:
		q.bindings = slices.DeleteFunc(q.bindings, func(p string) bool { return p == req.Pattern })
		return reply(f.info(q))
	case wire.CtlPurge:
		n := 0
		q.msgs = slices.DeleteFunc(q.msgs, func(m *fakeQMsg) bool {
			if m.holder == nil {
				n++
				return true
			}
			return false
		})
		info := f.info(q)
		info.Purged = uint64(n)
		return reply(info)
	case wire.CtlInfo:
		return reply(f.info(q))
	case wire.CtlList:
		out := []wire.QueueInfo{}
		for _, q := range f.queues {
			out = append(out, f.info(q))
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return reply(out)
	}
	return fail(wire.CodeQueueInvalid, "unknown op %d", op)
}

func (f *fakeRouter) info(q *fakeQueue) wire.QueueInfo {
	i := q.info
	i.Name, i.Private, i.Config, i.Bindings = q.name, q.owner != nil, q.cfg, slices.Clone(q.bindings)
	i.Depth, i.Ready, i.InFlight, i.Bytes = len(q.msgs), 0, 0, 0
	for _, m := range q.msgs {
		if m.holder != nil {
			i.InFlight++
		} else {
			i.Ready++
		}
	}
	for _, c := range f.cs {
		for _, s := range c.subs {
			if s.Queue == q.name {
				i.Consumers++
			}
		}
	}
	return i
}

func (f *fakeRouter) deleteQueue(q *fakeQueue) {
	delete(f.queues, q.name)
	for _, c := range f.cs {
		for sid, s := range c.subs {
			if s.Queue == q.name {
				delete(c.subs, sid)
				f.sendErr(c, wire.CodeQueueDeleted, sid, fmt.Sprintf("queue %q deleted", q.name))
			}
		}
	}
}

// enqueue puts a copy of a message frame into the queue name.
func (f *fakeRouter) enqueue(name string, m *wire.Msg, frame []byte) (uint32, string) {
	q := f.queues[name]
	switch {
	case q == nil:
		return wire.CodeQueueNotFound, fmt.Sprintf("no queue %q", name)
	case m.Deadline != 0 && int64(m.Deadline) <= MonotonicNanos():
		return wire.CodeMsgExpired, "expired before it was queued"
	case len(q.msgs) >= q.cfg.MaxMsgs:
		q.info.Rejected++
		return wire.CodeQueueFull, fmt.Sprintf("queue %q holds %d messages", name, len(q.msgs))
	case int64(len(m.Data)) > q.cfg.MaxBytes:
		return wire.CodeMsgTooLarge, fmt.Sprintf("%d bytes, the queue takes %d", len(m.Data), q.cfg.MaxBytes)
	}
	for _, held := range q.msgs {
		if held.id == m.ID {
			return wire.CodeDuplicate, "already queued"
		}
	}
	qm := &fakeQMsg{id: m.ID, prio: m.Priority, frame: slices.Clone(frame)}
	// After every message of the same or a higher priority.
	i := len(q.msgs)
	for i > 0 && q.msgs[i-1].prio < qm.prio {
		i--
	}
	q.msgs = slices.Insert(q.msgs, i, qm)
	q.info.Enqueued++
	return wire.CodeOK, ""
}

// enqueueBound puts a publish into every queue bound to its topic.
func (f *fakeRouter) enqueueBound(topic, frame []byte) {
	if len(f.queues) == 0 {
		return
	}
	var m wire.Msg
	if wire.DecodeMsg(frame, &m) != nil {
		return
	}
	for name, q := range f.queues {
		for _, b := range q.bindings {
			if fakeMatch(b, string(topic)) {
				f.enqueue(name, &m, frame)
				break
			}
		}
	}
}

// pump delivers ready messages to consumers with credit; it returns how
// many it delivered.
func (f *fakeRouter) pump() int {
	n := 0
	now := time.Now()
	for _, q := range f.queues {
		for _, m := range q.msgs {
			if m.holder != nil || now.Before(m.notBefore) {
				continue
			}
			c, sid := f.pickConsumer(q, m)
			if c == nil {
				continue
			}
			buf, err := c.out.Claim(wire.TypeMsg, len(m.frame))
			if err != nil {
				continue
			}
			m.deliveries++
			m.holder, m.sid = c, sid
			copy(buf, m.frame)
			wire.SetDelivery(buf, sid, wire.FlagQueued, m.deliveries)
			c.out.Commit()
			q.info.Delivered++
			if m.deliveries > 1 {
				q.info.Redelivered++
			}
			n++
		}
	}
	return n
}

// pickConsumer returns a consumer of q with credit whose selector takes m,
// round robin.
func (f *fakeRouter) pickConsumer(q *fakeQueue, m *fakeQMsg) (*fakeClient, uint64) {
	type cand struct {
		c   *fakeClient
		sid uint64
	}
	var cands []cand
	for _, c := range f.cs {
		if c.gone.Load() {
			continue
		}
		for sid, s := range c.subs {
			if s.Queue != q.name || !fakeSelects(s.Selector, m.frame) {
				continue
			}
			held := 0
			for _, o := range q.msgs {
				if o.holder == c && o.sid == sid {
					held++
				}
			}
			if prefetch := int(s.Prefetch); prefetch == 0 || held < prefetch {
				cands = append(cands, cand{c, sid})
			}
		}
	}
	if len(cands) == 0 {
		return nil, 0
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].c.id != cands[j].c.id {
			return cands[i].c.id < cands[j].c.id
		}
		return cands[i].sid < cands[j].sid
	})
	f.rr++
	pick := cands[f.rr%len(cands)]
	return pick.c, pick.sid
}

func (f *fakeRouter) settle(c *fakeClient, s *wire.Settle) {
	for _, q := range f.queues {
		for i, m := range q.msgs {
			if m.id != s.ID || m.holder != c || m.sid != s.SID {
				continue
			}
			switch s.Op {
			case wire.SettleAck:
				q.msgs = slices.Delete(q.msgs, i, i+1)
				q.info.Acked++
			case wire.SettleTerm:
				q.msgs = slices.Delete(q.msgs, i, i+1)
				q.info.Termed++
			case wire.SettleNak:
				m.holder, m.sid = nil, 0
				m.notBefore = time.Now().Add(time.Duration(s.Delay))
				q.info.Naked++
			}
			return
		}
	}
	f.sendErr(c, wire.CodeNotHeld, s.SID, fmt.Sprintf("message %d is not in flight with consumer %d", s.ID, s.SID))
}

// checkResumed refuses the consumers of a reconnecting client's Hello whose
// queue does not exist here, as the router does.
func (f *fakeRouter) checkResumed(c *fakeClient) {
	for sid, s := range c.subs {
		if s.Queue != "" && f.queues[s.Queue] == nil {
			delete(c.subs, sid)
			f.sendErr(c, wire.CodeQueueNotFound, sid, fmt.Sprintf("no queue %q", s.Queue))
		}
	}
}

// addQueue declares a queue from the test goroutine (a queue that survived
// a restart).
func (f *fakeRouter) addQueue(name string) {
	f.loopMu.Lock()
	defer f.loopMu.Unlock()
	if f.queues == nil {
		f.queues = map[string]*fakeQueue{}
	}
	f.queues[name] = &fakeQueue{name: name, cfg: fakeDefaults(wire.QueueConfig{})}
}

// consumerGone puts the consumer's deliveries back.
func (f *fakeRouter) consumerGone(c *fakeClient, sid uint64) {
	for _, q := range f.queues {
		for _, m := range q.msgs {
			if m.holder == c && (sid == 0 || m.sid == sid) {
				m.holder, m.sid = nil, 0
			}
		}
	}
}

// clientGone puts the client's deliveries back and deletes its private
// queues.
func (f *fakeRouter) clientGone(c *fakeClient) {
	f.consumerGone(c, 0)
	for _, q := range f.queues {
		if q.owner == c {
			f.deleteQueue(q)
		}
	}
}

// fakeSelects evaluates a selector on a message frame ("" takes all).
func fakeSelects(src string, frame []byte) bool {
	if src == "" {
		return true
	}
	sel, err := selector.Compile(src)
	if err != nil {
		return false
	}
	var m wire.Msg
	if wire.DecodeMsg(frame, &m) != nil {
		return false
	}
	return sel.Eval(m.Topic, m.Priority, m.Headers)
}
