package bus

import (
	"bytes"
	"slices"
	"time"
)

// Msg is a message: what Publish sends and what a subscription receives.
//
// A *Msg handed to a Subscribe or QueueSubscribe handler is ZERO COPY: it
// and its Data point into the shared-memory ring and are valid only until
// the handler returns; the dispatcher then reuses them for the next message.
// Call Copy to keep one. Topic, Reply and Header are always owned (safe to
// keep); Data is not. Messages from NextMsg, a ChanSubscribe channel or
// Request are owned copies.
type Msg struct {
	Topic  string
	Reply  string // where Respond sends; empty when no answer is expected
	Header Header // nil when the message has none
	Data   []byte

	// Set on received messages.
	ID      uint64 // unique per publisher: its connection id << 40 | sequence
	PubTime int64  // CLOCK_MONOTONIC ns when it was published (see MonotonicNanos)
	Sub     *Subscription

	conn *Conn
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
