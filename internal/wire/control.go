package wire

import "fmt"

// Sub frame (TypeSub):
//
//	0      8                 16      17    18          20          22
//	+------+-----------------+-------+-----+-----------+-----------+---------+-------+----------+
//	| sid  | block timeout ns| policy| rsv | pattern len| group len | pattern | group | selector |
//	| u64  | u64             | u8    | u8  | u16       | u16       | bytes   | bytes | (rest)   |
//	+------+-----------------+-------+-----+-----------+-----------+---------+-------+----------+
//
// The selector (a header filter the router evaluates, internal/selector)
// is the rest of the record, at most MaxSelectorLen bytes; empty: none.
const (
	offSubSID      = 0
	offSubTimeout  = offSubSID + 8
	offSubPolicy   = offSubTimeout + 8
	offSubReserved = offSubPolicy + 1
	offSubPatLen   = offSubReserved + 1
	offSubGroupLen = offSubPatLen + 2
	// SubFixed is the size of a Sub frame's fixed part.
	SubFixed = offSubGroupLen + 2
)

// Slow-consumer policies of a subscription.
const (
	PolicyDrop  uint8 = 0 // drop what does not fit, count it, tell the client
	PolicyBlock uint8 = 1 // hold the publisher up to the block timeout
)

// Sub is a decoded subscribe frame.
type Sub struct {
	SID          uint64
	BlockTimeout uint64 // ns, PolicyBlock only
	Policy       uint8
	Pattern      []byte
	Group        []byte // empty: not a queue group
	Selector     []byte // empty: every message
}

// Size is the encoded size of s.
func (s *Sub) Size() int { return SubFixed + len(s.Pattern) + len(s.Group) + len(s.Selector) }

// Encode writes s into dst (s.Size() bytes).
func (s *Sub) Encode(dst []byte) {
	_ = dst[SubFixed-1]
	le.PutUint64(dst[offSubSID:], s.SID)
	le.PutUint64(dst[offSubTimeout:], s.BlockTimeout)
	dst[offSubPolicy] = s.Policy
	dst[offSubReserved] = 0
	le.PutUint16(dst[offSubPatLen:], uint16(len(s.Pattern)))
	le.PutUint16(dst[offSubGroupLen:], uint16(len(s.Group)))
	n := SubFixed + copy(dst[SubFixed:], s.Pattern)
	n += copy(dst[n:], s.Group)
	copy(dst[n:], s.Selector)
}

// DecodeSub decodes a subscribe frame.
func DecodeSub(b []byte, s *Sub) error {
	if len(b) < SubFixed {
		return fmt.Errorf("sub frame of %d bytes, fixed part is %d: %w", len(b), SubFixed, ErrBadFrame)
	}
	pl, gl := int(le.Uint16(b[offSubPatLen:])), int(le.Uint16(b[offSubGroupLen:]))
	if pl == 0 || pl > MaxTopicLen || gl > MaxTopicLen || SubFixed+pl+gl > len(b) || len(b)-SubFixed-pl-gl > MaxSelectorLen {
		return fmt.Errorf("sub frame of %d bytes: pattern %d, group %d bytes do not fit: %w", len(b), pl, gl, ErrBadFrame)
	}
	if p := b[offSubPolicy]; p > PolicyBlock {
		return fmt.Errorf("sub frame: unknown policy %d: %w", p, ErrBadFrame)
	}
	s.SID = le.Uint64(b[offSubSID:])
	s.BlockTimeout = le.Uint64(b[offSubTimeout:])
	s.Policy = b[offSubPolicy]
	s.Pattern = b[SubFixed : SubFixed+pl : SubFixed+pl]
	n := SubFixed + pl + gl
	s.Group = b[SubFixed+pl : n : n]
	s.Selector = b[n:len(b):len(b)]
	return nil
}

// U64Size is the size of the one-word frames: TypeUnsub (a sid) and
// TypePing / TypePong (a token).
const U64Size = 8

// PutU64 encodes a one-word frame.
func PutU64(dst []byte, v uint64) { le.PutUint64(dst, v) }

// DecodeU64 decodes a one-word frame.
func DecodeU64(b []byte) (uint64, error) {
	if len(b) != U64Size {
		return 0, fmt.Errorf("one-word frame of %d bytes: %w", len(b), ErrBadFrame)
	}
	return le.Uint64(b), nil
}

// Err frame (TypeErr): u32 code, u32 reserved, u64 sid (0 = the connection),
// then a UTF-8 text.
const (
	offErrCode = 0
	offErrRsv  = offErrCode + 4
	offErrSID  = offErrRsv + 4
	// ErrFixed is the size of an Err frame's fixed part.
	ErrFixed = offErrSID + 8
)

// Asynchronous error codes.
const (
	CodeSlowConsumer uint32 = 1 // messages for the subscription were dropped
	CodeBadRecord    uint32 = 2 // the router rejected a record from this client
	CodeBadSub       uint32 = 3 // a subscribe was refused (bad pattern, duplicate sid)
)

// ErrFrame is a decoded error frame.
type ErrFrame struct {
	Code uint32
	SID  uint64
	Text []byte
}

// Size is the encoded size of e.
func (e *ErrFrame) Size() int { return ErrFixed + len(e.Text) }

// Encode writes e into dst (e.Size() bytes).
func (e *ErrFrame) Encode(dst []byte) {
	le.PutUint32(dst[offErrCode:], e.Code)
	le.PutUint32(dst[offErrRsv:], 0)
	le.PutUint64(dst[offErrSID:], e.SID)
	copy(dst[ErrFixed:], e.Text)
}

// DecodeErr decodes an error frame.
func DecodeErr(b []byte, e *ErrFrame) error {
	if len(b) < ErrFixed {
		return fmt.Errorf("error frame of %d bytes, fixed part is %d: %w", len(b), ErrFixed, ErrBadFrame)
	}
	e.Code = le.Uint32(b[offErrCode:])
	e.SID = le.Uint64(b[offErrSID:])
	e.Text = b[ErrFixed:len(b):len(b)]
	return nil
}
