package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Record types carried in ring record headers. Types below 16 travel from
// a client to the router, 16 and up from the router to a client.
const (
	TypePub   uint16 = 1 // a publish (Msg frame)
	TypeSub   uint16 = 2 // subscribe (Sub frame)
	TypeUnsub uint16 = 3 // unsubscribe (SID frame)
	TypePing  uint16 = 4 // flush request (Token frame)

	TypeMsg    uint16 = 16 // a delivery (Msg frame)
	TypePong   uint16 = 17 // answer to TypePing (Token frame)
	TypeErr    uint16 = 18 // asynchronous error (Err frame)
	TypeStatus uint16 = 19 // a status to a reply inbox, e.g. no responders (Msg frame, Status header)
)

// ErrBadFrame is wrapped by every decoding error.
var ErrBadFrame = errors.New("shmbus: bad frame")

// Message frame fixed part, offsets as running sums.
const (
	offMsgID    = 0
	offPubTime  = offMsgID + 8
	offDeadline = offPubTime + 8
	offSID      = offDeadline + 8
	offTopicLen = offSID + 8
	offReplyLen = offTopicLen + 2
	offHdrLen   = offReplyLen + 2
	offPrio     = offHdrLen + 4
	offFlags    = offPrio + 1
	offDeliv    = offFlags + 1
	offReserved = offDeliv + 4
	// MsgFixed is the size of a message frame's fixed part.
	MsgFixed = offReserved + 2
)

// Limits on a message frame's variable parts.
const (
	MaxTopicLen  = 255
	MaxHeaderLen = 64 << 10
	MaxPriority  = 9
)

var le = binary.LittleEndian

// Msg is a decoded message frame. Topic, Reply, Headers and Data point into
// the record (zero copy).
type Msg struct {
	ID       uint64
	PubTime  uint64 // CLOCK_MONOTONIC ns
	Deadline uint64 // CLOCK_MONOTONIC ns, 0 = none
	SID      uint64
	Priority uint8
	Flags    uint8 // FlagQueued, ...
	// Deliveries counts a queue delivery (1 on the first, FlagQueued);
	// 0 elsewhere.
	Deliveries uint32
	Topic      []byte
	Reply      []byte
	Headers    []byte // encoded header block; see Headers
	Data       []byte
}

// Size is the encoded size of m.
func (m *Msg) Size() int {
	return MsgFixed + len(m.Topic) + len(m.Reply) + len(m.Headers) + len(m.Data)
}

// Encode writes m into dst, which must hold m.Size() bytes (a ring claim).
func (m *Msg) Encode(dst []byte) {
	_ = dst[MsgFixed-1]
	le.PutUint64(dst[offMsgID:], m.ID)
	le.PutUint64(dst[offPubTime:], m.PubTime)
	le.PutUint64(dst[offDeadline:], m.Deadline)
	le.PutUint64(dst[offSID:], m.SID)
	le.PutUint16(dst[offTopicLen:], uint16(len(m.Topic)))
	le.PutUint16(dst[offReplyLen:], uint16(len(m.Reply)))
	le.PutUint32(dst[offHdrLen:], uint32(len(m.Headers)))
	dst[offPrio] = m.Priority
	dst[offFlags] = m.Flags
	le.PutUint32(dst[offDeliv:], m.Deliveries)
	clear(dst[offReserved:MsgFixed])
	n := MsgFixed
	n += copy(dst[n:], m.Topic)
	n += copy(dst[n:], m.Reply)
	n += copy(dst[n:], m.Headers)
	copy(dst[n:], m.Data)
}

// DecodeMsg decodes a message frame, checking every length against b.
func DecodeMsg(b []byte, m *Msg) error {
	if len(b) < MsgFixed {
		return fmt.Errorf("message frame of %d bytes, fixed part is %d: %w", len(b), MsgFixed, ErrBadFrame)
	}
	tl, rl, hl := int(le.Uint16(b[offTopicLen:])), int(le.Uint16(b[offReplyLen:])), int(le.Uint32(b[offHdrLen:]))
	if tl == 0 || tl > MaxTopicLen || rl > MaxTopicLen || hl > MaxHeaderLen {
		return fmt.Errorf("message frame: topic %d, reply %d, header %d bytes out of bounds: %w", tl, rl, hl, ErrBadFrame)
	}
	if MsgFixed+tl+rl+hl > len(b) {
		return fmt.Errorf("message frame of %d bytes: topic %d + reply %d + header %d overrun it: %w", len(b), tl, rl, hl, ErrBadFrame)
	}
	if p := b[offPrio]; p > MaxPriority {
		return fmt.Errorf("message frame: priority %d above %d: %w", p, MaxPriority, ErrBadFrame)
	}
	m.ID = le.Uint64(b[offMsgID:])
	m.PubTime = le.Uint64(b[offPubTime:])
	m.Deadline = le.Uint64(b[offDeadline:])
	m.SID = le.Uint64(b[offSID:])
	m.Priority = b[offPrio]
	m.Flags = b[offFlags]
	m.Deliveries = le.Uint32(b[offDeliv:])
	n := MsgFixed
	m.Topic = b[n : n+tl : n+tl]
	n += tl
	m.Reply = b[n : n+rl : n+rl]
	n += rl
	m.Headers = b[n : n+hl : n+hl]
	n += hl
	m.Data = b[n:len(b):len(b)]
	if hl > 0 {
		if err := CheckHeaders(m.Headers); err != nil {
			return err
		}
	}
	return nil
}

// SetDelivery patches the subscription id, flags and delivery count of an
// encoded message frame in place (the router, copying a queued message into
// its consumer's ring).
func SetDelivery(frame []byte, sid uint64, flags uint8, deliveries uint32) {
	le.PutUint64(frame[offSID:], sid)
	frame[offFlags] = flags
	le.PutUint32(frame[offDeliv:], deliveries)
}

// SetSID patches the subscription id of an encoded message frame in place
// (the router does this after copying a publish into a subscriber's ring).
func SetSID(frame []byte, sid uint64) { le.PutUint64(frame[offSID:], sid) }
