package bus

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// Queues.
//
// A queue is held by the router: bounded, ordered by priority (FIFO within
// a level), with TTLs, competing consumers, acknowledgements, redelivery
// and dead letters. Messages reach it by Send (confirmed: Send returns once
// the router has queued the message, or says why it did not) and by
// publishes to topics bound to it (BindQueue). Consumers (Consume) get each
// message one at a time, at most Prefetch in flight, and settle each with
// Ack, Nak, Term or InProgress.

// Overflow is what a full queue does with a new message.
type Overflow uint8

// Overflow policies.
const (
	// OverflowReject refuses the new message: Send fails with ErrQueueFull
	// (the default).
	OverflowReject Overflow = iota
	// OverflowDropOldest makes room by dropping the oldest ready messages of
	// the lowest priority, from levels at or below the new message's only
	// (dead-lettered as overflow); when that cannot make room the new
	// message is refused (ErrQueueFull).
	OverflowDropOldest
	// OverflowBlock holds the sender until there is room, up to the queue's
	// BlockTimeout, then refuses (ErrQueueFull).
	OverflowBlock
)

var overflowNames = []string{"reject", "drop-oldest", "block"}

// String returns the policy's name: reject, drop-oldest or block.
func (o Overflow) String() string { return enumName(overflowNames, uint8(o), "Overflow") }

// ParseOverflow parses a policy name (as String writes it).
func ParseOverflow(s string) (Overflow, error) {
	v, err := parseEnum(overflowNames, s, "overflow")
	return Overflow(v), err
}

// MarshalText implements encoding.TextMarshaler (JSON uses the name).
func (o Overflow) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Overflow) UnmarshalText(b []byte) (err error) {
	*o, err = ParseOverflow(string(b))
	return err
}

// Starvation is how a queue shares deliveries between priority levels
// under a backlog.
type Starvation uint8

// Starvation policies.
const (
	// StarvationStrict always delivers from the highest non-empty level:
	// a steady stream of high priority starves the lower levels (the
	// default).
	StarvationStrict Starvation = iota
	// StarvationAging delivers from the highest level, but after AgingLimit
	// consecutive such deliveries made while a lower level waited, delivers
	// the oldest lower-level message once.
	StarvationAging
)

var starvationNames = []string{"strict", "aging"}

// String returns the policy's name: strict or aging.
func (s Starvation) String() string { return enumName(starvationNames, uint8(s), "Starvation") }

// ParseStarvation parses a policy name (as String writes it).
func ParseStarvation(s string) (Starvation, error) {
	v, err := parseEnum(starvationNames, s, "starvation")
	return Starvation(v), err
}

// MarshalText implements encoding.TextMarshaler.
func (s Starvation) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Starvation) UnmarshalText(b []byte) (err error) {
	*s, err = ParseStarvation(string(b))
	return err
}

// Durability is the journal policy a queue asks the router for. The router
// records and reports it; whether it journals accordingly depends on the
// router (see its documentation: a router without a journal keeps every
// queue in memory, whatever its durability).
type Durability uint8

// Durability policies.
const (
	// DurabilityNone keeps the queue in memory only: it is lost with the
	// router (the default).
	DurabilityNone Durability = iota
	// DurabilityBatch asks for a journal synced in batches: a router
	// crash may lose the last moments.
	DurabilityBatch
	// DurabilitySync asks for a journal synced before each confirm.
	DurabilitySync
)

var durabilityNames = []string{"none", "batch", "sync"}

// String returns the policy's name: none, batch or sync.
func (d Durability) String() string { return enumName(durabilityNames, uint8(d), "Durability") }

// ParseDurability parses a policy name (as String writes it).
func ParseDurability(s string) (Durability, error) {
	v, err := parseEnum(durabilityNames, s, "durability")
	return Durability(v), err
}

// MarshalText implements encoding.TextMarshaler.
func (d Durability) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Durability) UnmarshalText(b []byte) (err error) {
	*d, err = ParseDurability(string(b))
	return err
}

func enumName(names []string, v uint8, typ string) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}

func parseEnum(names []string, s, what string) (uint8, error) {
	if s == "" {
		return 0, nil
	}
	if i := slices.Index(names, s); i >= 0 {
		return uint8(i), nil
	}
	return 0, fmt.Errorf("shmbus: %s %q, want one of %s: %w", what, s, strings.Join(names, ", "), ErrQueueInvalid)
}

// QueueConfig configures a queue. The zero value of every field takes the
// router's default, so QueueConfig{} is a usable queue.
type QueueConfig struct {
	// MaxMsgs bounds the messages held: ready, delayed by a Nak and in
	// flight (default 100,000).
	MaxMsgs int `json:"max_msgs,omitempty"`
	// MaxBytes bounds their payload bytes (default 64 MiB).
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Overflow is what a full queue does with a new message (default
	// OverflowReject).
	Overflow Overflow `json:"overflow"`
	// BlockTimeout is how long OverflowBlock holds a sender (default: the
	// router's block timeout, 1 s unless configured); OverflowBlock only.
	BlockTimeout time.Duration `json:"block_timeout,omitempty"`
	// DefaultTTL, when positive, bounds how long a message stays: its
	// deadline is the earlier of its own and the time it was queued plus
	// DefaultTTL (default: no limit).
	DefaultTTL time.Duration `json:"default_ttl,omitempty"`
	// MaxDeliveries, when positive, dead-letters a message that comes back
	// after that many deliveries (default: unlimited).
	MaxDeliveries int `json:"max_deliveries,omitempty"`
	// AckTimeout is how long a delivery may stay unsettled before it comes
	// back to the queue (default 30 s; negative: never).
	AckTimeout time.Duration `json:"ack_timeout,omitempty"`
	// DeadLetter is where dead letters go (terminated, over MaxDeliveries,
	// expired, dropped by overflow): "queue:NAME" or "topic:NAME"; ""
	// discards them (counted only).
	DeadLetter string `json:"dead_letter,omitempty"`
	// Starvation is how priority levels share deliveries (default
	// StarvationStrict).
	Starvation Starvation `json:"starvation"`
	// AgingLimit is StarvationAging's run of higher-level deliveries
	// before a lower one (default 16).
	AgingLimit int `json:"aging_limit,omitempty"`
	// AlertLevels are fill percentages (ascending, 1 to 100) at which the
	// router raises a high-water alert (default 80 and 100); NoAlerts
	// turns alerts off.
	AlertLevels []uint8 `json:"alert_levels,omitempty"`
	// AlertHysteresis is how many points below a level the fill must fall
	// to clear its alert (default 10, or less when the lowest level is
	// 10 or less).
	AlertHysteresis uint8 `json:"alert_hysteresis,omitempty"`
	NoAlerts        bool  `json:"no_alerts,omitempty"`
	// Durability is how the router journals the queue (default
	// DurabilityNone).
	Durability Durability `json:"durability"`
}

// MarshalJSON writes AlertLevels as numbers (encoding/json would write a
// []uint8 as base64).
func (q QueueConfig) MarshalJSON() ([]byte, error) {
	type plain QueueConfig
	return json.Marshal(struct {
		plain
		AlertLevels []int `json:"alert_levels,omitempty"`
	}{plain(q), levelsOut(q.AlertLevels)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (q *QueueConfig) UnmarshalJSON(b []byte) error {
	type plain QueueConfig
	var v struct {
		plain
		AlertLevels []int `json:"alert_levels,omitempty"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*q = QueueConfig(v.plain)
	q.AlertLevels = nil
	for _, l := range v.AlertLevels {
		if l < 0 || l > 255 {
			return fmt.Errorf("shmbus: alert level %d out of range: %w", l, ErrQueueInvalid)
		}
		q.AlertLevels = append(q.AlertLevels, uint8(l))
	}
	return nil
}

func levelsOut(ls []uint8) []int {
	if len(ls) == 0 {
		return nil
	}
	out := make([]int, len(ls))
	for i, l := range ls {
		out[i] = int(l)
	}
	return out
}

// check catches what the router would refuse, to fail early with a clear
// error (wrapping ErrQueueInvalid). The router checks again.
func (q *QueueConfig) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("shmbus: queue config: %s: %w", fmt.Sprintf(format, a...), ErrQueueInvalid)
	}
	switch {
	case q.MaxMsgs < 0:
		return bad("MaxMsgs %d is negative", q.MaxMsgs)
	case q.MaxBytes < 0:
		return bad("MaxBytes %d is negative", q.MaxBytes)
	case int(q.Overflow) >= len(overflowNames):
		return bad("unknown %v", q.Overflow)
	case q.BlockTimeout < 0:
		return bad("BlockTimeout %v is negative", q.BlockTimeout)
	case q.BlockTimeout > 0 && q.Overflow != OverflowBlock:
		return bad("BlockTimeout %v applies to OverflowBlock only, not %v", q.BlockTimeout, q.Overflow)
	case q.DefaultTTL < 0:
		return bad("DefaultTTL %v is negative", q.DefaultTTL)
	case q.MaxDeliveries < 0:
		return bad("MaxDeliveries %d is negative", q.MaxDeliveries)
	case int(q.Starvation) >= len(starvationNames):
		return bad("unknown %v", q.Starvation)
	case q.AgingLimit < 0:
		return bad("AgingLimit %d is negative", q.AgingLimit)
	case q.AgingLimit > 0 && q.Starvation != StarvationAging:
		return bad("AgingLimit %d without StarvationAging", q.AgingLimit)
	case int(q.Durability) >= len(durabilityNames):
		return bad("unknown %v", q.Durability)
	case q.NoAlerts && (len(q.AlertLevels) > 0 || q.AlertHysteresis != 0):
		return bad("AlertLevels %v, AlertHysteresis %d with NoAlerts", q.AlertLevels, q.AlertHysteresis)
	}
	for i, l := range q.AlertLevels {
		if l < 1 || l > 100 || (i > 0 && l <= q.AlertLevels[i-1]) {
			return bad("AlertLevels %v: want ascending percentages from 1 to 100", q.AlertLevels)
		}
	}
	if q.DeadLetter != "" {
		kind, name, _ := strings.Cut(q.DeadLetter, ":")
		if kind != "queue" && kind != "topic" {
			return bad("DeadLetter %q: want queue:NAME or topic:NAME", q.DeadLetter)
		}
		if err := ValidateTopic(name); err != nil {
			return bad("DeadLetter %q: %v", q.DeadLetter, err)
		}
	}
	return nil
}

func (q *QueueConfig) toWire() wire.QueueConfig {
	w := wire.QueueConfig{
		MaxMsgs:         q.MaxMsgs,
		MaxBytes:        q.MaxBytes,
		BlockTimeout:    q.BlockTimeout,
		DefaultTTL:      q.DefaultTTL,
		MaxDeliveries:   q.MaxDeliveries,
		AckTimeout:      q.AckTimeout,
		DeadLetter:      q.DeadLetter,
		AgingLimit:      q.AgingLimit,
		AlertLevels:     slices.Clone(q.AlertLevels),
		AlertHysteresis: q.AlertHysteresis,
		NoAlerts:        q.NoAlerts,
	}
	// The defaults travel as "" so that the router's stay the defaults.
	if q.Overflow != OverflowReject {
		w.Overflow = q.Overflow.String()
	}
	if q.Starvation != StarvationStrict {
		w.Starvation = q.Starvation.String()
	}
	if q.Durability != DurabilityNone {
		w.Durability = q.Durability.String()
	}
	return w
}

func queueConfigOf(w *wire.QueueConfig) (QueueConfig, error) {
	q := QueueConfig{
		MaxMsgs:         w.MaxMsgs,
		MaxBytes:        w.MaxBytes,
		BlockTimeout:    w.BlockTimeout,
		DefaultTTL:      w.DefaultTTL,
		MaxDeliveries:   w.MaxDeliveries,
		AckTimeout:      w.AckTimeout,
		DeadLetter:      w.DeadLetter,
		AgingLimit:      w.AgingLimit,
		AlertLevels:     w.AlertLevels,
		AlertHysteresis: w.AlertHysteresis,
		NoAlerts:        w.NoAlerts,
	}
	var err error
	if q.Overflow, err = ParseOverflow(w.Overflow); err != nil {
		return q, err
	}
	if q.Starvation, err = ParseStarvation(w.Starvation); err != nil {
		return q, err
	}
	q.Durability, err = ParseDurability(w.Durability)
	return q, err
}

// QueueInfo describes a queue: its config as the router filled it in
// (defaults applied), its state and its counters since it was declared.
type QueueInfo struct {
	Name      string      `json:"name"`
	Private   bool        `json:"private,omitempty"` // declared with no name: deleted with its connection
	Config    QueueConfig `json:"config"`
	Bindings  []string    `json:"bindings,omitempty"` // topic patterns whose publishes it takes
	Consumers int         `json:"consumers"`

	Depth    int   `json:"depth"`     // messages held: ready + delayed + in flight
	Bytes    int64 `json:"bytes"`     // payload bytes held
	Ready    int   `json:"ready"`     // deliverable now
	InFlight int   `json:"in_flight"` // delivered, not settled
	Delayed  int   `json:"delayed"`   // naked with a delay
	Fill     uint8 `json:"fill_pct"`  // the larger of messages and bytes against the limits, percent
	Alert    uint8 `json:"alert_pct"` // the highest alert level raised (0: none)

	Enqueued     uint64 `json:"enqueued"`
	Delivered    uint64 `json:"delivered"`
	Redelivered  uint64 `json:"redelivered"`
	Acked        uint64 `json:"acked"`
	Naked        uint64 `json:"naked"`
	Termed       uint64 `json:"termed"`
	Expired      uint64 `json:"expired"`
	Rejected     uint64 `json:"rejected"`
	Dropped      uint64 `json:"dropped"` // by OverflowDropOldest
	DeadLettered uint64 `json:"dead_lettered"`
	Blocked      uint64 `json:"blocked"`          // senders held by OverflowBlock
	Purged       uint64 `json:"purged,omitempty"` // PurgeQueue: how many it removed
}

func queueInfoOf(w *wire.QueueInfo) (QueueInfo, error) {
	cfg, err := queueConfigOf(&w.Config)
	if err != nil {
		return QueueInfo{}, fmt.Errorf("shmbus: queue %q from the router: %w", w.Name, err)
	}
	return QueueInfo{
		Name: w.Name, Private: w.Private, Config: cfg, Bindings: w.Bindings, Consumers: w.Consumers,
		Depth: w.Depth, Bytes: w.Bytes, Ready: w.Ready, InFlight: w.InFlight, Delayed: w.Delayed,
		Fill: w.Fill, Alert: w.Alert,
		Enqueued: w.Enqueued, Delivered: w.Delivered, Redelivered: w.Redelivered, Acked: w.Acked,
		Naked: w.Naked, Termed: w.Termed, Expired: w.Expired, Rejected: w.Rejected, Dropped: w.Dropped,
		DeadLettered: w.DeadLettered, Blocked: w.Blocked, Purged: w.Purged,
	}, nil
}

// checkQueueName reports a name that cannot be a queue's: queue names
// follow the topic syntax without wildcards (ValidateTopic).
func checkQueueName(name string) error {
	if err := ValidateTopic(name); err != nil {
		return fmt.Errorf("%w: queue name: %w", ErrQueueInvalid, err)
	}
	return nil
}
