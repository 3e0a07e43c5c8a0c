package persist

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"time"
)

// TypePublish is the record type of a topic journal. Part of the on-disk
// format.
const TypePublish uint8 = 16

// TopicMessage is a message of a durable topic. Seq and Time are the
// journal's: sequence numbers increase by one per message, times never
// decrease.
type TopicMessage struct {
	Seq     uint64
	Time    int64 // unix ns, stamped by Publish
	Topic   string
	Headers []byte
	Data    []byte
}

// Topic is the durable-topic journal: published messages on one Log, read
// back from a sequence, a time, the first or the last message. Retention
// (WithRetention) deletes the oldest segments.
type Topic struct {
	log *Log

	mu      sync.Mutex
	scratch []byte // guarded by mu
}

// OpenTopic opens the topic journal in dir.
func OpenTopic(dir string, opts ...Option) (*Topic, error) {
	l, err := Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	return &Topic{log: l}, nil
}

// Log returns the underlying log.
func (t *Topic) Log() *Log { return t.log }

// Close closes the journal.
func (t *Topic) Close() error { return t.log.Close() }

// Sync fsyncs everything published so far.
func (t *Topic) Sync(ctx context.Context) error { return t.log.Sync(ctx) }

// Publish journals a message and returns its sequence; done (if not nil)
// fires once it is confirmed under the durability policy.
func (t *Topic) Publish(topic string, headers, data []byte, done func(seq uint64, err error)) (uint64, error) {
	if len(topic) > math.MaxUint16 {
		return 0, fmt.Errorf("%w: topic of %d bytes", ErrBadPayload, len(topic))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	b := binary.LittleEndian.AppendUint16(t.scratch[:0], uint16(len(topic)))
	b = append(b, topic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(headers)))
	b = append(b, headers...)
	b = append(b, data...)
	t.scratch = b
	return t.log.AppendNotify(TypePublish, b, done)
}

// StartAt says where a TopicReader begins.
type StartAt struct {
	kind int
	seq  uint64
	time time.Time
}

// StartFirst starts at the oldest message kept.
func StartFirst() StartAt { return StartAt{kind: 0} }

// StartLast starts at the newest message (the one last published when the
// reader is created), or at the next one if there is none.
func StartLast() StartAt { return StartAt{kind: 1} }

// StartSeq starts at the first message with sequence >= seq.
func StartSeq(seq uint64) StartAt { return StartAt{kind: 2, seq: seq} }

// StartTime starts at the first message stamped at or after t.
func StartTime(t time.Time) StartAt { return StartAt{kind: 3, time: t} }

// TopicReader reads a topic journal from its start point to the current
// end, then on as messages are published: a subscriber replays with Next
// until io.EOF, and follows live by waiting (Wait) and calling Next again.
// LastSeq is the last sequence delivered, so the router can hand over to
// live delivery at LastSeq+1 without gap or duplicate.
type TopicReader struct {
	t *Topic
	r *Reader
}

// NewReader returns a reader positioned at start.
func (t *Topic) NewReader(start StartAt) (*TopicReader, error) {
	var from uint64
	switch start.kind {
	case 0:
		from = 1
	case 1:
		from = max(t.log.Written(), 1)
	case 2:
		from = start.seq
	case 3:
		seq, err := t.log.SeqAtTime(start.time.UnixNano())
		if err != nil {
			return nil, err
		}
		from = seq
	}
	return &TopicReader{t: t, r: t.log.NewReader(from)}, nil
}

// Next fills m with the next message, or returns io.EOF at the current
// end. m's slices are valid until the next call.
func (tr *TopicReader) Next(m *TopicMessage) error {
	for {
		rec, err := tr.r.Next()
		if err != nil {
			return err
		}
		if rec.Type != TypePublish {
			continue
		}
		if err := decodePublish(rec.Payload, m); err != nil {
			return fmt.Errorf("%w at sequence %d", err, rec.Seq)
		}
		m.Seq, m.Time = rec.Seq, rec.Time
		return nil
	}
}

// LastSeq is the sequence of the last message delivered (0: none yet).
func (tr *TopicReader) LastSeq() uint64 { return tr.r.LastSeq() }

// Wait blocks until a message after LastSeq has been written (Next will
// not return io.EOF), ctx ends, or the journal closes.
func (tr *TopicReader) Wait(ctx context.Context) error {
	l := tr.t.log
	for {
		ch := l.Changed()
		if l.Written() >= tr.r.NextSeq() {
			return nil
		}
		if isClosed(l.done) {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close releases the reader.
func (tr *TopicReader) Close() error { return tr.r.Close() }

// Publish payload, part of the on-disk format:
//
//	topic len u16 | topic | headers len u32 | headers | data (the rest)
func decodePublish(p []byte, m *TopicMessage) error {
	if len(p) < 2 {
		return fmt.Errorf("%w: publish of %d bytes", ErrBadPayload, len(p))
	}
	tl := int(binary.LittleEndian.Uint16(p))
	rest := p[2:]
	if len(rest) < tl+4 {
		return fmt.Errorf("%w: publish topic of %d bytes, %d left", ErrBadPayload, tl, len(rest))
	}
	m.Topic = string(rest[:tl])
	rest = rest[tl:]
	hl := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	if hl > len(rest) {
		return fmt.Errorf("%w: publish headers of %d bytes, %d left", ErrBadPayload, hl, len(rest))
	}
	m.Headers, m.Data = rest[:hl:hl], rest[hl:]
	return nil
}
