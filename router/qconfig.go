package router

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shmbus/shmbus/internal/topic"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router/queue"
)

// errQueueInvalid is wrapped by the router's own refusals of a queue
// request (CodeQueueInvalid), beside the core's sentinels.
var errQueueInvalid = errors.New("shmbus: invalid queue request")

// Defaults of a declared queue's fields that are zero (besides those of
// queue.DefaultConfig).
const (
	DefaultAgingLimit = 16
	defaultHysteresis = 10
)

// Durability policies a queue may be declared with. The router records the
// policy and reports it (QueueInfo, stats); the write-behind journal
// (persist/) is what will act on it, and is not connected yet: today every
// queue lives in the router's memory only, whatever its durability.
var durabilities = []string{"none", "batch", "sync"}

// queueConfig validates a declared config and fills in its defaults. It
// returns the filled wire form (what Info reports and a redeclare must
// match) and the core's form. name is the declared name ("" private).
func (l *loop) queueConfig(name string, w wire.QueueConfig) (wire.QueueConfig, queue.Config, error) {
	bad := func(format string, args ...any) (wire.QueueConfig, queue.Config, error) {
		return w, queue.Config{}, fmt.Errorf("queue %q: %s: %w", name, fmt.Sprintf(format, args...), errQueueInvalid)
	}
	badErr := func(err error, format string, args ...any) (wire.QueueConfig, queue.Config, error) {
		return w, queue.Config{}, fmt.Errorf("queue %q: %s: %w: %w", name, fmt.Sprintf(format, args...), errQueueInvalid, err)
	}
	def := queue.DefaultConfig()
	if w.MaxMsgs == 0 {
		w.MaxMsgs = def.MaxMsgs
	}
	if w.MaxBytes == 0 {
		w.MaxBytes = def.MaxBytes
	}
	var cfg queue.Config
	switch w.Overflow {
	case "", "reject":
		w.Overflow, cfg.Overflow = "reject", queue.Reject
	case "drop-oldest":
		cfg.Overflow = queue.DropOldest
	case "block":
		cfg.Overflow = queue.Block
	default:
		return bad("overflow %q: want reject, drop-oldest or block", w.Overflow)
	}
	switch {
	case w.BlockTimeout < 0:
		return bad("block_timeout %v is negative", w.BlockTimeout)
	case cfg.Overflow != queue.Block && w.BlockTimeout != 0:
		return bad("block_timeout %v applies to overflow block only, not %s", w.BlockTimeout, w.Overflow)
	case cfg.Overflow == queue.Block && w.BlockTimeout == 0:
		w.BlockTimeout = l.r.cfg.BlockTimeout
	}
	switch {
	case w.AckTimeout == 0:
		w.AckTimeout = def.AckTimeout
	case w.AckTimeout < 0:
		w.AckTimeout = -1 // none; one spelling, so that redeclares compare equal
	}
	switch w.Starvation {
	case "", "strict":
		w.Starvation, cfg.Starvation = "strict", queue.Strict
	case "aging":
		cfg.Starvation = queue.Aging
		if w.AgingLimit == 0 {
			w.AgingLimit = DefaultAgingLimit
		}
	default:
		return bad("starvation %q: want strict or aging", w.Starvation)
	}
	if w.NoAlerts {
		if len(w.AlertLevels) > 0 || w.AlertHysteresis != 0 {
			return bad("no_alerts with alert_levels %v, alert_hysteresis %d", w.AlertLevels, w.AlertHysteresis)
		}
	} else {
		if len(w.AlertLevels) == 0 {
			w.AlertLevels = def.AlertLevels
		}
		if w.AlertHysteresis == 0 && w.AlertLevels[0] > 0 {
			w.AlertHysteresis = min(defaultHysteresis, w.AlertLevels[0]-1)
		}
	}
	switch w.Durability {
	case "":
		w.Durability = "none"
	case "none", "batch", "sync":
	default:
		return bad("durability %q: want %s", w.Durability, strings.Join(durabilities, ", "))
	}
	if w.DeadLetter != "" {
		kind, target, _ := strings.Cut(w.DeadLetter, ":")
		if kind != "queue" && kind != "topic" {
			return bad("dead_letter %q: want queue:NAME or topic:NAME", w.DeadLetter)
		}
		if err := topic.ValidateTopic(target); err != nil {
			return badErr(err, "dead_letter %q", w.DeadLetter)
		}
		if kind == "queue" && target == name && name != "" {
			return bad("dead_letter %q is the queue itself", w.DeadLetter)
		}
	}
	cfg.MaxMsgs, cfg.MaxBytes = w.MaxMsgs, w.MaxBytes
	cfg.DefaultTTL = w.DefaultTTL
	cfg.MaxDeliveries = w.MaxDeliveries
	cfg.AckTimeout = max(w.AckTimeout, 0)
	cfg.DeadLetter = w.DeadLetter
	cfg.AgingLimit = w.AgingLimit
	cfg.AlertLevels = w.AlertLevels
	cfg.AlertHysteresis = w.AlertHysteresis
	if err := cfg.Validate(); err != nil {
		return w, queue.Config{}, fmt.Errorf("queue %q: %w: %w", name, errQueueInvalid, err)
	}
	return w, cfg, nil
}

// compatibleExtras compares the fields of a redeclare that the core's
// Config does not have (the core compares the others).
func compatibleExtras(have, want *wire.QueueConfig) error {
	diff := func(field string, h, w any) error {
		return fmt.Errorf("%w: %s is %v, declared with %v", queue.ErrConfigConflict, field, h, w)
	}
	switch {
	case have.BlockTimeout != want.BlockTimeout:
		return diff("block_timeout", have.BlockTimeout, want.BlockTimeout)
	case have.Durability != want.Durability:
		return diff("durability", have.Durability, want.Durability)
	case have.NoAlerts != want.NoAlerts:
		return diff("no_alerts", have.NoAlerts, want.NoAlerts)
	}
	return nil
}

// splitDeadLetter splits a validated dead-letter target.
func splitDeadLetter(dl string) (queueName, topicName string) {
	kind, target, _ := strings.Cut(dl, ":")
	if kind == "queue" {
		return target, ""
	}
	return "", target
}

// ctlCode is the result code of a refused queue request.
func ctlCode(err error) uint32 {
	switch {
	case errors.Is(err, queue.ErrConfigConflict):
		return wire.CodeQueueConflict
	case errors.Is(err, queue.ErrNotFound):
		return wire.CodeQueueNotFound
	}
	return wire.CodeQueueInvalid
}
