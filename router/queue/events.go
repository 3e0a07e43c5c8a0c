package queue

import "fmt"

// Reason says why a message left the queue other than by Ack.
type Reason uint8

const (
	ReasonExpired       Reason = iota + 1 // its deadline passed while it was held
	ReasonTerm                            // a consumer called Term
	ReasonMaxDeliveries                   // it came back after MaxDeliveries deliveries
	ReasonOverflow                        // DropOldest made room for a newer message
	reasonPurge                           // Purge (never dead-lettered)
	reasonAcked                           // Ack (never dead-lettered)
)

func (r Reason) String() string {
	switch r {
	case ReasonExpired:
		return "expired"
	case ReasonTerm:
		return "term"
	case ReasonMaxDeliveries:
		return "max-deliveries"
	case ReasonOverflow:
		return "overflow"
	case reasonPurge:
		return "purge"
	case reasonAcked:
		return "acked"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// EventKind is what an Event reports.
type EventKind uint8

const (
	// EventDeadLetter: a message left for Reason and the queue has a
	// dead-letter target; the router forwards it to Target.
	EventDeadLetter EventKind = iota + 1
	// EventAlertRaised: the fill reached Level percent.
	EventAlertRaised
	// EventAlertCleared: the fill fell below Level minus the hysteresis.
	EventAlertCleared
	// EventRoom: under Block, a refused size fits again: retry held senders.
	EventRoom
)

func (k EventKind) String() string {
	switch k {
	case EventDeadLetter:
		return "dead-letter"
	case EventAlertRaised:
		return "alert-raised"
	case EventAlertCleared:
		return "alert-cleared"
	case EventRoom:
		return "room"
	}
	return fmt.Sprintf("event(%d)", uint8(k))
}

// Event is something the router must act on. The fields used depend on
// Kind; Queue is always the queue's name.
type Event struct {
	Kind  EventKind
	Queue string // the queue it happened in (the from-queue of a dead letter)

	// EventDeadLetter
	Target     string // Config.DeadLetter
	Reason     Reason
	ID         uint64
	Priority   uint8
	Deliveries uint32 // how often it had been handed out
	Deadline   int64  // its effective deadline, 0 = none
	Payload    []byte // owned by the queue, valid until ClearEvents

	// EventAlertRaised, EventAlertCleared
	Level uint8 // the alert level, percent
	Fill  uint8 // the fill at the transition, percent
}

// Events returns the events since the last ClearEvents, oldest first. The
// slice and the dead letters' payloads stay valid until ClearEvents (the
// router may Push a payload into another queue first: Push copies). The
// router drains after each batch of calls; events accumulate until then.
func (q *Queue) Events() []Event { return q.events }

// ClearEvents forgets the events and takes back the dead letters' payload
// buffers for reuse. It allocates nothing.
func (q *Queue) ClearEvents() {
	for i := range q.events {
		e := &q.events[i]
		if e.Payload != nil {
			q.pool.put(e.Payload)
		}
		*e = Event{}
	}
	q.events = q.events[:0]
}

// deadLetter records a dead-letter event for m (detached, unaccounted) and
// takes its payload buffer; false when the queue has no target, in which
// case the caller frees the buffer.
func (q *Queue) deadLetter(m *msg, r Reason) bool {
	if q.cfg.DeadLetter == "" || r == reasonPurge || r == reasonAcked {
		return false
	}
	q.c.deadLettered++
	q.events = append(q.events, Event{
		Kind:       EventDeadLetter,
		Queue:      q.name,
		Target:     q.cfg.DeadLetter,
		Reason:     r,
		ID:         m.id,
		Priority:   m.prio,
		Deliveries: m.deliveries,
		Deadline:   m.key[hExpiry],
		Payload:    m.buf,
	})
	m.buf = nil
	return true
}

// alertLevel is one alert level as thresholds, so that the hot path only
// compares: raised when held messages >= raiseMsgs or bytes >= raiseBytes,
// cleared when both are below clearMsgs and clearBytes.
type alertLevel struct {
	level                uint8
	raiseMsgs, clearMsgs int
	raiseBytes, clearBy  int64
}

// ceilPct is the smallest x with x*100/total >= pct (integer fill).
func ceilPct(pct, total int64) int64 { return (pct*total + 99) / 100 }

func makeAlerts(c *Config) []alertLevel {
	var a []alertLevel
	for _, l := range c.AlertLevels {
		cl := int64(l) - int64(c.AlertHysteresis)
		a = append(a, alertLevel{
			level:      l,
			raiseMsgs:  int(ceilPct(int64(l), int64(c.MaxMsgs))),
			clearMsgs:  int(ceilPct(cl, int64(c.MaxMsgs))),
			raiseBytes: ceilPct(int64(l), c.MaxBytes),
			clearBy:    ceilPct(cl, c.MaxBytes),
		})
	}
	return a
}

// Fill is the queue's fill in percent: the larger of held messages over
// MaxMsgs and held bytes over MaxBytes, rounded down.
func (q *Queue) Fill() uint8 {
	fm := int64(len(q.byID)) * 100 / int64(q.cfg.MaxMsgs)
	fb := q.bytes * 100 / q.cfg.MaxBytes
	return uint8(max(fm, fb))
}

// checkRaise raises the alert levels the fill has reached (after growth).
func (q *Queue) checkRaise() {
	for q.alertN < len(q.alerts) {
		a := &q.alerts[q.alertN]
		if len(q.byID) < a.raiseMsgs && q.bytes < a.raiseBytes {
			return
		}
		q.alertN++
		q.events = append(q.events, Event{Kind: EventAlertRaised, Queue: q.name, Level: a.level, Fill: q.Fill()})
	}
}

// checkClear clears the raised levels the fill has fallen far enough below
// (after shrinking), and reports room to a blocked sender.
func (q *Queue) checkClear() {
	for q.alertN > 0 {
		a := &q.alerts[q.alertN-1]
		if len(q.byID) >= a.clearMsgs || q.bytes >= a.clearBy {
			break
		}
		q.alertN--
		q.events = append(q.events, Event{Kind: EventAlertCleared, Queue: q.name, Level: a.level, Fill: q.Fill()})
	}
	if q.wantRoom && q.Fits(q.wantSize) {
		q.wantRoom = false
		q.events = append(q.events, Event{Kind: EventRoom, Queue: q.name})
	}
}

// AlertLevel is the highest raised alert level in percent, 0 when none.
func (q *Queue) AlertLevel() uint8 {
	if q.alertN == 0 {
		return 0
	}
	return q.alerts[q.alertN-1].level
}
