package wire

import (
	"encoding/json"
	"fmt"
	"time"
)

// Queue record types (protocol version 2). Client to router:
const (
	TypeCtl     uint16 = 5 // a queue-management request (Ctl frame, JSON body)
	TypeSend    uint16 = 6 // a message for a queue (Msg frame; Topic is the queue name)
	TypeConsume uint16 = 7 // start consuming a queue (Consume frame); stopped by TypeUnsub
	TypeSettle  uint16 = 8 // ack, nak, term or in-progress for a delivery (Settle frame)
)

// Router to client:
const (
	TypeCtlReply uint16 = 20 // answer to a TypeCtl (Ctl frame: token, code, JSON body or error text)
	TypeConfirm  uint16 = 21 // answer to every TypeSend (Confirm frame)
)

// Message flags (the Msg frame's flags byte).
const (
	// FlagQueued marks a delivery from a queue: the consumer settles it
	// (TypeSettle with the delivery's SID and message id). The frame's
	// Deliveries field counts this delivery (1 on the first).
	FlagQueued uint8 = 1 << 0
)

// Result codes of TypeCtlReply and TypeConfirm (0 = done). The bus package
// maps each to a sentinel error.
const (
	CodeOK            uint32 = 0
	CodeQueueNotFound uint32 = 16 // no queue by that name
	CodeQueueConflict uint32 = 17 // declared again with a different config
	CodeQueueInvalid  uint32 = 18 // bad name, config, pattern or request
	CodeQueueFull     uint32 = 19 // overflow Reject (or Block past its deadline): not queued
	CodeMsgExpired    uint32 = 20 // already past its deadline: not queued
	CodeMsgTooLarge   uint32 = 21 // larger than the queue's MaxBytes
	CodeDuplicate     uint32 = 22 // a message with this id is already in the queue
	CodeNotHeld       uint32 = 23 // settle: the delivery is not in flight with this consumer
	CodeQueueDeleted  uint32 = 24 // the queue was deleted (to a consumer, on its SID)
)

// Ctl operations (the op field of a Ctl frame).
const (
	CtlDeclare uint16 = 1 // body QueueDeclare; reply QueueInfo
	CtlDelete  uint16 = 2 // body QueueRef; reply QueueInfo (as it was)
	CtlBind    uint16 = 3 // body QueueBinding; reply QueueInfo
	CtlUnbind  uint16 = 4 // body QueueBinding; reply QueueInfo
	CtlPurge   uint16 = 5 // body QueueRef; reply QueueInfo (after: Purged says how many)
	CtlInfo    uint16 = 6 // body QueueRef; reply QueueInfo
	CtlList    uint16 = 7 // body empty; reply []QueueInfo, sorted by name
)

// Ctl frame (TypeCtl and TypeCtlReply):
//
//	0        8       10      12      16
//	+--------+-------+-------+-------+------------------------------+
//	| token  | op    | rsv   | code  | body: JSON, or an error text  |
//	| u64    | u16   | u16   | u32   | (reply with code != 0)        |
//	+--------+-------+-------+-------+------------------------------+
//
// The token pairs a reply with its request; op is echoed in the reply;
// code is 0 in a request.
const (
	offCtlToken = 0
	offCtlOp    = offCtlToken + 8
	offCtlRsv   = offCtlOp + 2
	offCtlCode  = offCtlRsv + 2
	// CtlFixed is the size of a Ctl frame's fixed part.
	CtlFixed = offCtlCode + 4
	// MaxCtlBody bounds a Ctl frame's body.
	MaxCtlBody = 1 << 20
)

// Ctl is a decoded Ctl frame; Body points into the record.
type Ctl struct {
	Token uint64
	Op    uint16
	Code  uint32
	Body  []byte
}

// Size is the encoded size of c.
func (c *Ctl) Size() int { return CtlFixed + len(c.Body) }

// Encode writes c into dst (c.Size() bytes).
func (c *Ctl) Encode(dst []byte) {
	_ = dst[CtlFixed-1]
	le.PutUint64(dst[offCtlToken:], c.Token)
	le.PutUint16(dst[offCtlOp:], c.Op)
	le.PutUint16(dst[offCtlRsv:], 0)
	le.PutUint32(dst[offCtlCode:], c.Code)
	copy(dst[CtlFixed:], c.Body)
}

// DecodeCtl decodes a Ctl frame.
func DecodeCtl(b []byte, c *Ctl) error {
	if len(b) < CtlFixed {
		return fmt.Errorf("ctl frame of %d bytes, fixed part is %d: %w", len(b), CtlFixed, ErrBadFrame)
	}
	if len(b)-CtlFixed > MaxCtlBody {
		return fmt.Errorf("ctl frame body of %d bytes, limit %d: %w", len(b)-CtlFixed, MaxCtlBody, ErrBadFrame)
	}
	c.Token = le.Uint64(b[offCtlToken:])
	c.Op = le.Uint16(b[offCtlOp:])
	c.Code = le.Uint32(b[offCtlCode:])
	c.Body = b[CtlFixed:len(b):len(b)]
	return nil
}

// QueueConfig is a queue's configuration on the wire (router/queue.Config
// with JSON names). Zero fields take the router's defaults (100,000
// messages, 64 MiB, reject, 30 s ack timeout, alerts at 80% and 100%).
type QueueConfig struct {
	MaxMsgs         int           `json:"max_msgs,omitempty"`
	MaxBytes        int64         `json:"max_bytes,omitempty"`
	Overflow        string        `json:"overflow,omitempty"`      // reject (default), drop-oldest, block
	BlockTimeout    time.Duration `json:"block_timeout,omitempty"` // overflow block: how long a sender may be held (default 1 s)
	DefaultTTL      time.Duration `json:"default_ttl,omitempty"`
	MaxDeliveries   int           `json:"max_deliveries,omitempty"`
	AckTimeout      time.Duration `json:"ack_timeout,omitempty"`      // default 30 s; negative: none
	DeadLetter      string        `json:"dead_letter,omitempty"`      // "queue:NAME" or "topic:NAME"; "" discards
	Starvation      string        `json:"starvation,omitempty"`       // strict (default), aging
	AgingLimit      int           `json:"aging_limit,omitempty"`      // with aging (default 16)
	AlertLevels     []uint8       `json:"alert_levels,omitempty"`     // fill percentages; default 80, 100
	AlertHysteresis uint8         `json:"alert_hysteresis,omitempty"` // default 10 points
	NoAlerts        bool          `json:"no_alerts,omitempty"`        // no high-water alerts at all
	Durability      string        `json:"durability,omitempty"`       // journal policy: none (default), batch, sync
}

// QueueDeclare is the body of CtlDeclare. An empty Name declares a private
// queue: the router names it, and deletes it when the connection closes.
type QueueDeclare struct {
	Name   string      `json:"name"`
	Config QueueConfig `json:"config"`
}

// QueueRef names a queue (CtlDelete, CtlPurge, CtlInfo).
type QueueRef struct {
	Name string `json:"name"`
}

// QueueBinding binds or unbinds a topic pattern (CtlBind, CtlUnbind).
type QueueBinding struct {
	Name    string `json:"name"`
	Pattern string `json:"pattern"`
}

// QueueInfo describes a queue: its config as the router filled it in, its
// state and its counters since it was declared.
type QueueInfo struct {
	Name      string      `json:"name"`
	Private   bool        `json:"private,omitempty"`
	Config    QueueConfig `json:"config"`
	Bindings  []string    `json:"bindings,omitempty"`
	Consumers int         `json:"consumers"`

	Depth    int   `json:"depth"`     // messages held: ready + delayed + in flight
	Bytes    int64 `json:"bytes"`     // payload bytes held
	Ready    int   `json:"ready"`     // deliverable now
	InFlight int   `json:"in_flight"` // delivered, not settled
	Delayed  int   `json:"delayed"`   // nak'ed with a delay
	Fill     uint8 `json:"fill_pct"`  // the larger of messages and bytes against the limits
	Alert    uint8 `json:"alert_pct"` // the highest alert level raised (0: none)

	Enqueued     uint64 `json:"enqueued"`
	Delivered    uint64 `json:"delivered"`
	Redelivered  uint64 `json:"redelivered"`
	Acked        uint64 `json:"acked"`
	Naked        uint64 `json:"naked"`
	Termed       uint64 `json:"termed"`
	Expired      uint64 `json:"expired"`
	Rejected     uint64 `json:"rejected"`
	Dropped      uint64 `json:"dropped"` // overflow drop-oldest
	DeadLettered uint64 `json:"dead_lettered"`
	Blocked      uint64 `json:"blocked"` // senders held under overflow block
	Purged       uint64 `json:"purged,omitempty"`
}

// MarshalCtlBody encodes a Ctl body (JSON).
func MarshalCtlBody(v any) ([]byte, error) { return json.Marshal(v) }

// UnmarshalCtlBody decodes a Ctl body, naming the op on error.
func UnmarshalCtlBody(op uint16, b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("ctl op %d body: %w: %w", op, ErrBadFrame, err)
	}
	return nil
}

// Consume frame (TypeConsume):
//
//	0      8          12      14        16
//	+------+----------+-------+---------+-------+----------+
//	| sid  | prefetch | queue | selector| queue | selector |
//	| u64  | u32      | len16 | len16   | bytes | bytes    |
//	+------+----------+-------+---------+-------+----------+
//
// The sid shares the connection's subscription id space; TypeUnsub with it
// stops the consumer (its unsettled deliveries go back to the queue).
const (
	offConSID      = 0
	offConPrefetch = offConSID + 8
	offConQueueLen = offConPrefetch + 4
	offConSelLen   = offConQueueLen + 2
	// ConsumeFixed is the size of a Consume frame's fixed part.
	ConsumeFixed = offConSelLen + 2
	// MaxSelectorLen bounds a selector expression.
	MaxSelectorLen = 4096
	// MaxPrefetch bounds a consumer's in-flight limit.
	MaxPrefetch = 1 << 20
)

// Consume is a decoded Consume frame.
type Consume struct {
	SID      uint64
	Prefetch uint32 // deliveries in flight at most; 0 = the router's default (64)
	Queue    []byte
	Selector []byte // empty: every message
}

// Size is the encoded size of c.
func (c *Consume) Size() int { return ConsumeFixed + len(c.Queue) + len(c.Selector) }

// Encode writes c into dst (c.Size() bytes).
func (c *Consume) Encode(dst []byte) {
	_ = dst[ConsumeFixed-1]
	le.PutUint64(dst[offConSID:], c.SID)
	le.PutUint32(dst[offConPrefetch:], c.Prefetch)
	le.PutUint16(dst[offConQueueLen:], uint16(len(c.Queue)))
	le.PutUint16(dst[offConSelLen:], uint16(len(c.Selector)))
	n := ConsumeFixed + copy(dst[ConsumeFixed:], c.Queue)
	copy(dst[n:], c.Selector)
}

// DecodeConsume decodes a Consume frame.
func DecodeConsume(b []byte, c *Consume) error {
	if len(b) < ConsumeFixed {
		return fmt.Errorf("consume frame of %d bytes, fixed part is %d: %w", len(b), ConsumeFixed, ErrBadFrame)
	}
	ql, sl := int(le.Uint16(b[offConQueueLen:])), int(le.Uint16(b[offConSelLen:]))
	if ql == 0 || ql > MaxTopicLen || sl > MaxSelectorLen || ConsumeFixed+ql+sl != len(b) {
		return fmt.Errorf("consume frame of %d bytes: queue %d, selector %d bytes do not fit: %w", len(b), ql, sl, ErrBadFrame)
	}
	c.SID = le.Uint64(b[offConSID:])
	c.Prefetch = le.Uint32(b[offConPrefetch:])
	if c.Prefetch > MaxPrefetch {
		return fmt.Errorf("consume frame: prefetch %d above %d: %w", c.Prefetch, MaxPrefetch, ErrBadFrame)
	}
	c.Queue = b[ConsumeFixed : ConsumeFixed+ql : ConsumeFixed+ql]
	c.Selector = b[ConsumeFixed+ql : len(b) : len(b)]
	return nil
}

// Settle operations.
const (
	SettleAck        uint8 = 1 // processed: the message is gone
	SettleNak        uint8 = 2 // not processed: redeliver (after Delay)
	SettleTerm       uint8 = 3 // never redeliver: dead-letter it
	SettleInProgress uint8 = 4 // still working: restart the ack timeout
)

// Settle frame (TypeSettle):
//
//	0      8        16   17    24
//	+------+--------+----+-----+-----------+
//	| sid  | msg id | op | rsv | delay ns  |
//	| u64  | u64    | u8 | 7B  | u64       |
//	+------+--------+----+-----+-----------+
const (
	offSetSID   = 0
	offSetID    = offSetSID + 8
	offSetOp    = offSetID + 8
	offSetDelay = offSetOp + 8
	// SettleSize is the size of a Settle frame.
	SettleSize = offSetDelay + 8
)

// Settle is a decoded Settle frame.
type Settle struct {
	SID   uint64
	ID    uint64
	Op    uint8
	Delay uint64 // ns, SettleNak only
}

// Encode writes s into dst (SettleSize bytes).
func (s *Settle) Encode(dst []byte) {
	_ = dst[SettleSize-1]
	le.PutUint64(dst[offSetSID:], s.SID)
	le.PutUint64(dst[offSetID:], s.ID)
	clear(dst[offSetOp:offSetDelay])
	dst[offSetOp] = s.Op
	le.PutUint64(dst[offSetDelay:], s.Delay)
}

// DecodeSettle decodes a Settle frame.
func DecodeSettle(b []byte, s *Settle) error {
	if len(b) != SettleSize {
		return fmt.Errorf("settle frame of %d bytes, want %d: %w", len(b), SettleSize, ErrBadFrame)
	}
	s.SID = le.Uint64(b[offSetSID:])
	s.ID = le.Uint64(b[offSetID:])
	s.Op = b[offSetOp]
	s.Delay = le.Uint64(b[offSetDelay:])
	if s.Op < SettleAck || s.Op > SettleInProgress {
		return fmt.Errorf("settle frame: unknown op %d: %w", s.Op, ErrBadFrame)
	}
	return nil
}

// Confirm frame (TypeConfirm), the router's answer to each TypeSend:
//
//	0        8      12     16
//	+--------+------+------+------------------------+
//	| msg id | code | rsv  | error text (code != 0)  |
//	| u64    | u32  | u32  |                        |
//	+--------+------+------+------------------------+
const (
	offConfID   = 0
	offConfCode = offConfID + 8
	offConfRsv  = offConfCode + 4
	// ConfirmFixed is the size of a Confirm frame's fixed part.
	ConfirmFixed = offConfRsv + 4
)

// Confirm is a decoded Confirm frame.
type Confirm struct {
	ID   uint64
	Code uint32
	Text []byte
}

// Size is the encoded size of c.
func (c *Confirm) Size() int { return ConfirmFixed + len(c.Text) }

// Encode writes c into dst (c.Size() bytes).
func (c *Confirm) Encode(dst []byte) {
	_ = dst[ConfirmFixed-1]
	le.PutUint64(dst[offConfID:], c.ID)
	le.PutUint32(dst[offConfCode:], c.Code)
	le.PutUint32(dst[offConfRsv:], 0)
	copy(dst[ConfirmFixed:], c.Text)
}

// DecodeConfirm decodes a Confirm frame.
func DecodeConfirm(b []byte, c *Confirm) error {
	if len(b) < ConfirmFixed {
		return fmt.Errorf("confirm frame of %d bytes, fixed part is %d: %w", len(b), ConfirmFixed, ErrBadFrame)
	}
	c.ID = le.Uint64(b[offConfID:])
	c.Code = le.Uint32(b[offConfCode:])
	c.Text = b[ConfirmFixed:len(b):len(b)]
	return nil
}
