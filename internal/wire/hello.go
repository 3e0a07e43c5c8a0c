package wire

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
)

// The control socket (a Unix stream socket, SocketName in the bus
// directory) carries one exchange per connection: the client sends a Hello,
// the router answers with a Welcome. Each is a u32 little-endian length and
// that many bytes of JSON. The socket then stays open and silent: its EOF
// tells either side that the other is gone. Data never crosses it, so slow
// control traffic cannot stall the rings.

// Names of the router's files in the bus directory.
const (
	SocketName  = "shmbusd.sock"
	LockName    = "shmbusd.lock"
	RouterName  = "router"   // the router segment (doorbell, identity)
	CounterName = "counters" // the stats segment
)

// ProtocolVersion is the control protocol this build speaks.
const ProtocolVersion = 2

// MaxControlFrame bounds a Hello or Welcome.
const MaxControlFrame = 1 << 20

// SubSpec is one subscription or queue consumer a reconnecting client
// re-establishes: a consumer when Queue is set (Pattern, Group and the
// policy are then unused).
type SubSpec struct {
	SID            uint64 `json:"sid"`
	Pattern        string `json:"pattern,omitempty"`
	Group          string `json:"group,omitempty"`
	Policy         uint8  `json:"policy,omitempty"`
	BlockTimeoutNS uint64 `json:"block_timeout_ns,omitempty"`
	Selector       string `json:"selector,omitempty"`
	Queue          string `json:"queue,omitempty"`
	Prefetch       uint32 `json:"prefetch,omitempty"`
}

// Hello opens a connection. ConnID is 0 for a new connection, or the id the
// router gave before, when the client reconnects after losing the router.
type Hello struct {
	Version int       `json:"version"`
	Name    string    `json:"name,omitempty"`
	Segment string    `json:"segment"` // the client's connection segment (internal/conn)
	ConnID  uint64    `json:"conn_id,omitempty"`
	Subs    []SubSpec `json:"subs,omitempty"`
}

// Welcome answers a Hello. Error is set (and nothing else) when the router
// refused the connection.
type Welcome struct {
	Version    int    `json:"version"`
	ConnID     uint64 `json:"conn_id"`
	Inbox      string `json:"inbox"`       // the connection's private reply-topic prefix
	MaxPayload int    `json:"max_payload"` // largest topic+reply+headers+data of one message
	Error      string `json:"error,omitempty"`
}

// WriteControl writes one length-prefixed JSON frame.
func WriteControl(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err = w.Write(append(buf, b...))
	return err
}

// ReadControl reads one length-prefixed JSON frame into v.
func ReadControl(r io.Reader, v any) error {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return err
	}
	l := binary.LittleEndian.Uint32(n[:])
	if l == 0 || l > MaxControlFrame {
		return fmt.Errorf("control frame of %d bytes: %w", l, ErrBadFrame)
	}
	b := make([]byte, l)
	if _, err := io.ReadFull(r, b); err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("control frame: %v: %w", err, ErrBadFrame)
	}
	return nil
}
