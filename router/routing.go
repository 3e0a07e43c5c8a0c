package router

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router/queue"
	"github.com/shmbus/shmbus/router/rules"
)

// Routing rules (router/rules) run on every published message when a rule
// set is loaded: Config.RulesFile at New, Router.LoadRules on SIGHUP (or
// Router.SetRules). The engine is immutable, so swapping it is one atomic
// store and the loop reads it once per message: a message sees the old
// rules or the new ones, never a mix, and nothing in flight is dropped.
//
// Delivery order for one published message: the copies the rules made, in
// rule order (a copy's own copies first), then the message itself (renamed
// and edited), unless a move rule took it. Copies are routed like router
// messages: a block-policy subscriber without room drops a copy rather
// than holding the publisher, which only the message itself may do.

// SetRules installs e (nil: no rules) for the messages read from now on.
func (r *Router) SetRules(e *rules.Engine) {
	r.rules.Store(e)
	r.cfg.Logger.Info("routing rules installed", "rules", e.Len())
}

// LoadRules parses the rules file path and, only if it is valid, installs
// it; on error the rules in force stay (the error, a *rules.RuleError
// wrapping rules.ErrInvalidRules, names the rule and field).
func (r *Router) LoadRules(path string) error {
	e, err := rules.LoadFile(path)
	if err != nil {
		r.cfg.Logger.Error("routing rules refused: keeping the rules in force", "file", path, "err", err)
		return fmt.Errorf("load rules %q: %w", path, err)
	}
	r.rules.Store(e)
	r.cfg.Logger.Info("routing rules loaded", "file", path, "rules", e.Len())
	return nil
}

// Rules returns the rule set in force (nil: none).
func (r *Router) Rules() *rules.Engine { return r.rules.Load() }

// publishRules routes the message m (record p, from c) through the rules
// engine e. It returns what publish returns: false leaves the record in
// c's ring (a block-policy subscriber had no room for the message itself).
func (l *loop) publishRules(c *client, e *rules.Engine, m *wire.Msg, p []byte) bool {
	out := &l.rout
	e.Apply(rules.Input{Topic: m.Topic, Priority: m.Priority, Headers: m.Headers}, out)
	l.ruleSkipped += uint64(out.Skipped)
	if out.Matched == 0 {
		return l.routePublish(c, m, p)
	}
	l.ruleMatched++
	for i := range out.Copies {
		d := &out.Copies[i]
		cp := *m
		cp.Topic, cp.Headers = d.Topic, d.Headers
		f := l.encodeScratch(&cp)
		if d.Queue != "" {
			l.ruleToQueue(c, d.Queue, f, &cp)
			continue
		}
		if !l.route(str(cp.Topic), f, &cp, false) {
			l.noSubs++
		}
	}
	if out.Moved {
		return true
	}
	if !out.HeadersEdited && string(out.Topic) == string(m.Topic) {
		return l.routePublish(c, m, p)
	}
	cp := *m
	cp.Topic, cp.Headers = out.Topic, out.Headers
	f := l.encodeScratch(&cp)
	if ok := l.routePublish(c, &cp, f); ok {
		return true
	}
	// Stalled on a block-policy subscriber: resume must deliver this
	// rewritten frame, not the record, so keep a copy of it.
	c.stall.frame = append(c.stall.frame[:0], f...)
	return false
}

// encodeScratch encodes m into the loop's rules scratch buffer; the frame
// is valid until the next call.
func (l *loop) encodeScratch(m *wire.Msg) []byte {
	n := m.Size()
	if cap(l.rframe) < n {
		l.rframe = make([]byte, n, max(n, 2*cap(l.rframe)))
	}
	f := l.rframe[:n]
	m.Encode(f)
	return f
}

// ruleToQueue delivers a rule's copy to the queue name, as a binding
// would: nothing to confirm (the publisher used Publish), a refusal counted
// on the queue (bound_refused), a Block queue refuses at once rather than
// hold the publisher, and a queue that does not exist counts the action as
// skipped.
func (l *loop) ruleToQueue(c *client, name string, frame []byte, m *wire.Msg) {
	rq := l.qs.queues[name]
	if rq == nil {
		l.ruleSkipped++
		return
	}
	switch err := rq.q.Push(m.ID, m.Priority, int64(m.Deadline), frame); {
	case err == nil:
		rq.boundIn++
	case errors.Is(err, queue.ErrWouldBlock):
		rq.q.Refuse()
		rq.boundRefused++
	default:
		rq.boundRefused++
	}
	l.qs.touch(rq)
}
