package queue

import (
	"fmt"
	"slices"
	"time"
)

// Overflow says what Push does when a message does not fit (MaxMsgs or
// MaxBytes would be exceeded).
type Overflow uint8

const (
	// Reject refuses the new message: Push returns ErrQueueFull and counts
	// it as rejected. Accepted always means queued.
	Reject Overflow = iota
	// DropOldest makes room by dropping ready messages, lowest priority
	// level first and oldest first within a level, but only from levels at
	// or below the new message's priority; if that cannot make enough room
	// nothing is dropped and the new message is rejected (it is then the
	// least valuable message). Messages in flight or waiting out a Nak
	// delay are never dropped. Each drop is counted and dead-lettered with
	// ReasonOverflow.
	DropOldest
	// Block refuses the new message with ErrWouldBlock (not counted as a
	// rejection); the router holds the sender, and the queue emits one
	// EventRoom once the refused size fits again. The router decides how
	// long to hold a sender and calls Refuse when it gives up.
	Block
	numOverflow
)

func (o Overflow) String() string {
	switch o {
	case Reject:
		return "reject"
	case DropOldest:
		return "drop-oldest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("overflow(%d)", uint8(o))
}

// Starvation says how priority levels share deliveries under a backlog.
type Starvation uint8

const (
	// Strict always delivers from the highest non-empty level: a steady
	// stream of high-priority messages starves lower levels indefinitely.
	Strict Starvation = iota
	// Aging delivers from the highest non-empty level, except that after
	// AgingLimit consecutive such deliveries made while some lower level
	// had a ready message, the next delivery is the oldest (earliest
	// enqueued) ready message among the lower levels. See doc.go for the
	// bound this gives.
	Aging
	numStarvation
)

func (s Starvation) String() string {
	switch s {
	case Strict:
		return "strict"
	case Aging:
		return "aging"
	}
	return fmt.Sprintf("starvation(%d)", uint8(s))
}

// Limits on a Config.
const (
	// MaxPriority is the highest priority; 0 is the lowest.
	MaxPriority = 9
	// NumPriorities is the number of priority levels.
	NumPriorities = MaxPriority + 1
	// DefaultPriority is the priority the client API gives a message that
	// names none.
	DefaultPriority = 4
	// MaxAlertLevels is the most high-water alert levels a queue may have.
	MaxAlertLevels = 8
	// MaxQueueBytes bounds MaxBytes (keeps the percentage arithmetic far
	// from overflow).
	MaxQueueBytes = 1 << 48
)

// Config is a queue's configuration. Every queue is bounded: MaxMsgs and
// MaxBytes must be positive. Durations are relative; zero means "none" for
// DefaultTTL and AckTimeout, and zero MaxDeliveries means unlimited.
type Config struct {
	MaxMsgs  int   // most messages held (ready + delayed + in flight)
	MaxBytes int64 // most payload bytes held (same messages)
	Overflow Overflow

	// DefaultTTL bounds how long a message may stay: its deadline is the
	// earlier of its own deadline and enqueue time + DefaultTTL.
	DefaultTTL    time.Duration
	MaxDeliveries int           // a message handed out this often is dead-lettered when it comes back
	AckTimeout    time.Duration // an unsettled delivery comes back after this long
	DeadLetter    string        // dead-letter target, opaque here ("" = discard)

	Starvation Starvation
	AgingLimit int // with Aging: consecutive higher-level deliveries before a lower one (>= 1)

	// AlertLevels are fill percentages (ascending, 1..100): an alert is
	// raised when the fill (the larger of messages/MaxMsgs and
	// bytes/MaxBytes) reaches a level, and cleared when it falls below the
	// level minus AlertHysteresis points. Empty: no alerts.
	AlertLevels     []uint8
	AlertHysteresis uint8
}

// DefaultConfig is a reasonable starting point: 100,000 messages, 64 MiB,
// Reject, 30 s ack timeout, alerts at 80% and 100% clearing 10 points below.
func DefaultConfig() Config {
	return Config{
		MaxMsgs:         100_000,
		MaxBytes:        64 << 20,
		Overflow:        Reject,
		AckTimeout:      30 * time.Second,
		AlertLevels:     []uint8{80, 100},
		AlertHysteresis: 10,
	}
}

// Validate reports the first problem with c, wrapping ErrInvalidConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidConfig)
	}
	switch {
	case c.MaxMsgs <= 0:
		return bad("MaxMsgs is %d, must be positive (every queue is bounded)", c.MaxMsgs)
	case c.MaxBytes <= 0:
		return bad("MaxBytes is %d, must be positive (every queue is bounded)", c.MaxBytes)
	case c.MaxBytes > MaxQueueBytes:
		return bad("MaxBytes is %d, above %d", c.MaxBytes, int64(MaxQueueBytes))
	case c.Overflow >= numOverflow:
		return bad("Overflow is %v", c.Overflow)
	case c.DefaultTTL < 0:
		return bad("DefaultTTL is %v, negative", c.DefaultTTL)
	case c.AckTimeout < 0:
		return bad("AckTimeout is %v, negative", c.AckTimeout)
	case c.MaxDeliveries < 0:
		return bad("MaxDeliveries is %d, negative", c.MaxDeliveries)
	case c.Starvation >= numStarvation:
		return bad("Starvation is %v", c.Starvation)
	case c.Starvation == Aging && c.AgingLimit < 1:
		return bad("AgingLimit is %d, must be at least 1 with Aging", c.AgingLimit)
	case c.Starvation == Strict && c.AgingLimit != 0:
		return bad("AgingLimit is %d, but Starvation is strict", c.AgingLimit)
	case len(c.AlertLevels) > MaxAlertLevels:
		return bad("%d AlertLevels, at most %d", len(c.AlertLevels), MaxAlertLevels)
	}
	for i, l := range c.AlertLevels {
		if l < 1 || l > 100 {
			return bad("AlertLevels[%d] is %d, must be 1..100", i, l)
		}
		if i > 0 && l <= c.AlertLevels[i-1] {
			return bad("AlertLevels %v not strictly ascending", c.AlertLevels)
		}
	}
	if len(c.AlertLevels) > 0 && c.AlertHysteresis >= c.AlertLevels[0] {
		return bad("AlertHysteresis %d not below the lowest alert level %d", c.AlertHysteresis, c.AlertLevels[0])
	}
	return nil
}

// Equal reports whether c and o configure the same queue.
func (c *Config) Equal(o *Config) bool { return c.Compatible(o) == nil }

// Compatible returns nil when o configures the same queue as c, and
// otherwise an error wrapping ErrConfigConflict that names the first field
// that differs, with c's value and o's ("MaxMsgs is 100, declared with 200").
func (c *Config) Compatible(o *Config) error {
	diff := func(field string, have, want any) error {
		return fmt.Errorf("%w: %s is %v, declared with %v", ErrConfigConflict, field, have, want)
	}
	switch {
	case c.MaxMsgs != o.MaxMsgs:
		return diff("MaxMsgs", c.MaxMsgs, o.MaxMsgs)
	case c.MaxBytes != o.MaxBytes:
		return diff("MaxBytes", c.MaxBytes, o.MaxBytes)
	case c.Overflow != o.Overflow:
		return diff("Overflow", c.Overflow, o.Overflow)
	case c.DefaultTTL != o.DefaultTTL:
		return diff("DefaultTTL", c.DefaultTTL, o.DefaultTTL)
	case c.MaxDeliveries != o.MaxDeliveries:
		return diff("MaxDeliveries", c.MaxDeliveries, o.MaxDeliveries)
	case c.AckTimeout != o.AckTimeout:
		return diff("AckTimeout", c.AckTimeout, o.AckTimeout)
	case c.DeadLetter != o.DeadLetter:
		return diff("DeadLetter", fmt.Sprintf("%q", c.DeadLetter), fmt.Sprintf("%q", o.DeadLetter))
	case c.Starvation != o.Starvation:
		return diff("Starvation", c.Starvation, o.Starvation)
	case c.AgingLimit != o.AgingLimit:
		return diff("AgingLimit", c.AgingLimit, o.AgingLimit)
	case !slices.Equal(c.AlertLevels, o.AlertLevels):
		return diff("AlertLevels", c.AlertLevels, o.AlertLevels)
	case c.AlertHysteresis != o.AlertHysteresis:
		return diff("AlertHysteresis", c.AlertHysteresis, o.AlertHysteresis)
	}
	return nil
}

// clone returns c with its own copy of AlertLevels, so that a caller
// changing its slice later cannot change the queue.
func (c Config) clone() Config {
	c.AlertLevels = slices.Clone(c.AlertLevels)
	return c
}
