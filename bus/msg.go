package bus

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Msg is a message: what Publish and Send send and what a subscription or
// a queue consumer receives.
//
// A *Msg handed to a Subscribe, QueueSubscribe or Consume handler is ZERO
// COPY: it and its Data point into the shared-memory ring and are valid
// only until the handler returns; the dispatcher then reuses them for the
// next message. Call Copy to keep one. Topic, Reply and Header are always
// owned (safe to keep); Data is not. Messages from NextMsg, a ChanSubscribe
// channel or Request are owned copies.
//
// Priority, TTL and Deadline are read by Publish, PublishMsg, RequestMsg,
// Send and SendMsg. A received message has the Priority and Deadline it
// was sent with (TTL is then 0: it was turned into the Deadline), so
// forwarding it keeps both.
type Msg struct {
	Topic  string
	Reply  string // where Respond sends; empty when no answer is expected
	Header Header // nil when the message has none
	Data   []byte

	// Priority orders a queue's messages (higher first) and is visible to
	// selectors as $priority. The zero value sends DefaultPriority; set
	// one with Prio.
	Priority Priority
	// TTL, when positive, makes the message expire TTL after it is sent.
	TTL time.Duration
	// Deadline, when not 0, is when the message expires, in
	// CLOCK_MONOTONIC nanoseconds (see MonotonicNanos). With a TTL too,
	// the earlier of the two wins. An expired message is not queued
	// (ErrExpired), not delivered by a queue, and dropped by a subscriber
	// that finds it expired on arrival (Subscription.Expired).
	Deadline int64

	// Set on received messages.
	ID      uint64 // unique per publisher: its connection id << 40 | sequence
	PubTime int64  // CLOCK_MONOTONIC ns when it was published (see MonotonicNanos)
	// Deliveries counts the deliveries of a message from a queue: 1 on the
	// first, more when it came back (Nak, ack timeout, a consumer gone);
	// 0 on a message that is not from a queue.
	Deliveries uint32
	Sub        *Subscription

	conn    *Conn
	sid     uint64 // the subscription or consumer it came on
	queued  bool   // a queue delivery (wire.FlagQueued): settle it
	settled uint32 // atomic: 1 once Ack, Nak or Term was written
}

// Copy returns a copy of m that owns its data: what a handler must make of a
// message it wants to keep after returning.
func (m *Msg) Copy() *Msg {
	c := *m
	c.Data = bytes.Clone(m.Data)
	c.Header = m.Header.clone()
	return &c
}

// Respond publishes data to m's reply topic: the answer to a Request.
func (m *Msg) Respond(data []byte) error {
	if m.Reply == "" {
		return ErrNoReply
	}
	if m.conn == nil {
		return ErrConnectionClosed
	}
	return m.conn.Publish(m.Reply, data)
}

// RespondMsg publishes resp to m's reply topic (resp.Topic is set to it).
func (m *Msg) RespondMsg(resp *Msg) error {
	if m.Reply == "" {
		return ErrNoReply
	}
	if m.conn == nil {
		return ErrConnectionClosed
	}
	resp.Topic = m.Reply
	return m.conn.PublishMsg(resp)
}

// IsQueued reports whether m is a delivery from a queue, which the
// consumer settles with Ack, Nak or Term.
func (m *Msg) IsQueued() bool { return m.queued }

// Latency is how long ago m was published, by the CLOCK_MONOTONIC clock
// shared by every process on the host: the one-way delivery latency when
// called on receipt.
func (m *Msg) Latency() time.Duration { return time.Duration(MonotonicNanos() - m.PubTime) }

// Header holds message headers, as nats.Header: a key may have several
// values, kept in order. Keys are case-sensitive.
type Header map[string][]string

// Get returns the first value of key, or "".
func (h Header) Get(key string) string {
	if vs := h[key]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Values returns every value of key.
func (h Header) Values(key string) []string { return h[key] }

// Set replaces the values of key with value.
func (h Header) Set(key, value string) { h[key] = []string{value} }

// Add appends value to the values of key.
func (h Header) Add(key, value string) { h[key] = append(h[key], value) }

// Del removes key.
func (h Header) Del(key string) { delete(h, key) }

func (h Header) clone() Header {
	if h == nil {
		return nil
	}
	c := make(Header, len(h))
	for k, vs := range h {
		c[k] = slices.Clone(vs)
	}
	return c
}

// DefaultPriority is the priority of a message that sets none.
const DefaultPriority = 4

// MaxPriority is the highest priority; 0 is the lowest.
const MaxPriority = 9

// Priority is a message's priority level, 0 (lowest) to MaxPriority. Its
// zero value is not level 0 but "not set", which sends DefaultPriority;
// Prio makes one of a level (Prio(0) included), Level reads it back.
type Priority struct {
	p int // level + 1; 0: not set
}

// Prio returns priority level (0 to MaxPriority). A level outside that
// range makes Publish and Send fail with ErrInvalidOption.
func Prio(level int) Priority { return Priority{p: level + 1} }

// Level returns the priority level: DefaultPriority when none was set.
func (p Priority) Level() int {
	if p.p == 0 {
		return DefaultPriority
	}
	return p.p - 1
}

// IsSet reports whether p was made by Prio (or received).
func (p Priority) IsSet() bool { return p.p != 0 }

// String returns the level as a number.
func (p Priority) String() string { return strconv.Itoa(p.Level()) }

// wireLevel is the level a frame carries, checked.
func (p Priority) wireLevel() (uint8, error) {
	l := p.Level()
	if l < 0 || l > MaxPriority {
		return 0, fmt.Errorf("shmbus: priority %d, want 0 to %d: %w", l, MaxPriority, ErrInvalidOption)
	}
	return uint8(l), nil
}

// expiry is the deadline m is sent with: the earlier of m.Deadline and now
// + m.TTL (0: none). It reads the clock only when m has a TTL or a
// deadline, and fails with ErrExpired when that deadline has passed.
func (m *Msg) expiry() (int64, error) {
	if m.TTL == 0 && m.Deadline == 0 {
		return 0, nil
	}
	if m.TTL < 0 || m.Deadline < 0 {
		return 0, fmt.Errorf("shmbus: TTL %v, deadline %d: negative: %w", m.TTL, m.Deadline, ErrInvalidOption)
	}
	now := MonotonicNanos()
	d := m.Deadline
	if m.TTL > 0 {
		if t := now + int64(m.TTL); d == 0 || t < d {
			d = t
		}
	}
	if d <= now {
		return 0, fmt.Errorf("%w: deadline passed %v ago, before sending", ErrExpired, time.Duration(now-d))
	}
	return d, nil
}
