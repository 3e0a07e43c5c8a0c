package persist

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
)

// Record types of a queue journal. Part of the on-disk format.
const (
	TypeEnqueue    uint8 = 1
	TypeAck        uint8 = 2
	TypeNak        uint8 = 3
	TypeDeadLetter uint8 = 4
)

// QueueMessage is a message of a durable queue.
type QueueMessage struct {
	ID         uint64
	Priority   uint8  // 0..9
	Deadline   int64  // TTL deadline, unix ns (0: none)
	Deliveries uint32 // delivery attempts so far
	Topic      string
	Headers    []byte
	Payload    []byte
	Seq        uint64 // journal sequence of the enqueue (set by Enqueue and Recover)
}

// Queue is the durable-queue journal: enqueues, acks, naks and
// dead-letter events on one Log. It keeps, in memory, the live messages
// (enqueued, neither acked nor dead-lettered): id, journal sequence and
// delivery count, not the payloads.
//
// Message ids must be unique over the journal's life.
type Queue struct {
	log *Log

	mu      sync.Mutex
	scratch []byte
	live    map[uint64]liveMsg
}

type liveMsg struct {
	seq        uint64
	deliveries uint32
}

// OpenQueue opens the queue journal in dir and replays it to learn the
// live messages (Recover returns them).
func OpenQueue(dir string, opts ...Option) (*Queue, error) {
	opts = append(opts, WithRetention(Retention{})) // only settlement may drop messages
	l, err := Open(dir, opts...)
	if err != nil {
		return nil, err
	}
	q := &Queue{log: l, live: map[uint64]liveMsg{}}
	r := l.NewReader(0)
	defer r.Close()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return q, nil
		}
		if err == nil {
			err = q.apply(rec)
		}
		if err != nil {
			l.Close()
			return nil, err
		}
	}
}

// apply replays one record into the live map.
func (q *Queue) apply(rec Record) error {
	id, ok := decodeID(rec.Payload)
	if !ok {
		return fmt.Errorf("%w: %d bytes of type %d at sequence %d", ErrBadPayload, len(rec.Payload), rec.Type, rec.Seq)
	}
	switch rec.Type {
	case TypeEnqueue:
		var m QueueMessage
		if err := decodeEnqueue(rec.Payload, &m); err != nil {
			return fmt.Errorf("%w at sequence %d", err, rec.Seq)
		}
		q.live[id] = liveMsg{seq: rec.Seq, deliveries: m.Deliveries}
	case TypeAck, TypeDeadLetter:
		delete(q.live, id)
	case TypeNak:
		if len(rec.Payload) < 12 {
			return fmt.Errorf("%w: nak of %d bytes at sequence %d", ErrBadPayload, len(rec.Payload), rec.Seq)
		}
		if m, ok := q.live[id]; ok {
			m.deliveries = max(m.deliveries, binary.LittleEndian.Uint32(rec.Payload[8:]))
			q.live[id] = m
		}
	}
	return nil
}

// Log returns the underlying log (durability watermarks, Sync, Stats).
func (q *Queue) Log() *Log { return q.log }

// Close closes the journal (see Log.Close).
func (q *Queue) Close() error { return q.log.Close() }

// Sync fsyncs everything so far (see Log.Sync).
func (q *Queue) Sync(ctx context.Context) error { return q.log.Sync(ctx) }

// Enqueue journals m and returns its sequence; done (if not nil) fires
// once it is confirmed under the durability policy.
func (q *Queue) Enqueue(m *QueueMessage, done func(seq uint64, err error)) (uint64, error) {
	if m.Priority > 9 || len(m.Topic) > math.MaxUint16 {
		return 0, fmt.Errorf("%w: priority %d, topic of %d bytes", ErrBadPayload, m.Priority, len(m.Topic))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.live[m.ID]; dup {
		return 0, fmt.Errorf("%w: message id %d is already live", ErrBadPayload, m.ID)
	}
	q.scratch = appendEnqueue(q.scratch[:0], m)
	seq, err := q.log.AppendNotify(TypeEnqueue, q.scratch, done)
	if err != nil {
		return 0, err
	}
	q.live[m.ID] = liveMsg{seq: seq, deliveries: m.Deliveries}
	return seq, nil
}

// Ack settles message id (delivered and processed).
func (q *Queue) Ack(id uint64, done func(seq uint64, err error)) (uint64, error) {
	return q.settle(TypeAck, id, 0, done)
}

// DeadLetter settles message id as moved to the dead-letter destination.
func (q *Queue) DeadLetter(id uint64, done func(seq uint64, err error)) (uint64, error) {
	return q.settle(TypeDeadLetter, id, 0, done)
}

// Nak records that message id goes back to the queue after deliveries
// attempts (the count never goes down on recovery).
func (q *Queue) Nak(id uint64, deliveries uint32, done func(seq uint64, err error)) (uint64, error) {
	return q.settle(TypeNak, id, deliveries, done)
}

func (q *Queue) settle(typ uint8, id uint64, deliveries uint32, done func(uint64, error)) (uint64, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	m, ok := q.live[id]
	if !ok {
		return 0, fmt.Errorf("%w: %d", ErrUnknownMessage, id)
	}
	q.scratch = binary.LittleEndian.AppendUint64(q.scratch[:0], id)
	if typ == TypeNak {
		q.scratch = binary.LittleEndian.AppendUint32(q.scratch, deliveries)
	}
	seq, err := q.log.AppendNotify(typ, q.scratch, done)
	if err != nil {
		return 0, err
	}
	if typ == TypeNak {
		m.deliveries = max(m.deliveries, deliveries)
		q.live[id] = m
	} else {
		delete(q.live, id)
	}
	return seq, nil
}

// Live returns the number of live messages.
func (q *Queue) Live() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.live)
}

// LiveCounts returns the live messages per segment, keyed by segment base.
func (q *Queue) LiveCounts() map[uint64]int {
	segs := q.log.segmentsSnapshot()
	counts := make(map[uint64]int, len(segs))
	for _, s := range segs {
		counts[s.base] = 0
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.live {
		i := sort.Search(len(segs), func(i int) bool { return segs[i].base > m.seq })
		if i > 0 {
			counts[segs[i-1].base]++
		}
	}
	return counts
}

// Recover calls fn with every live message, in journal (enqueue) order,
// with its current delivery count. The message's slices are valid only
// during the call. It first waits for the writer to write everything
// enqueued so far. Call it after OpenQueue, before settling messages.
func (q *Queue) Recover(fn func(m *QueueMessage) error) error {
	if err := q.log.Flush(context.Background()); err != nil {
		return err
	}
	r := q.log.NewReader(0)
	defer r.Close()
	var m QueueMessage
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.Type != TypeEnqueue {
			continue
		}
		id, _ := decodeID(rec.Payload)
		q.mu.Lock()
		lm, ok := q.live[id]
		q.mu.Unlock()
		if !ok || lm.seq != rec.Seq {
			continue
		}
		if err := decodeEnqueue(rec.Payload, &m); err != nil {
			return err
		}
		m.Deliveries, m.Seq = lm.deliveries, rec.Seq
		if err := fn(&m); err != nil {
			return err
		}
	}
}

// RecoverAll returns copies of the live messages in journal order.
func (q *Queue) RecoverAll() ([]QueueMessage, error) {
	var out []QueueMessage
	err := q.Recover(func(m *QueueMessage) error {
		c := *m
		c.Headers = append([]byte(nil), m.Headers...)
		c.Payload = append([]byte(nil), m.Payload...)
		out = append(out, c)
		return nil
	})
	return out, err
}

// Enqueue payload (little-endian), part of the on-disk format:
//
//	id u64 | priority u8 | deliveries u32 | deadline i64 | topic len u16 |
//	topic | headers len u32 | headers | payload (the rest)
const enqueueFixed = 8 + 1 + 4 + 8 + 2 + 4

func appendEnqueue(b []byte, m *QueueMessage) []byte {
	b = binary.LittleEndian.AppendUint64(b, m.ID)
	b = append(b, m.Priority)
	b = binary.LittleEndian.AppendUint32(b, m.Deliveries)
	b = binary.LittleEndian.AppendUint64(b, uint64(m.Deadline))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(m.Topic)))
	b = append(b, m.Topic...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Headers)))
	b = append(b, m.Headers...)
	return append(b, m.Payload...)
}

func decodeID(p []byte) (uint64, bool) {
	if len(p) < 8 {
		return 0, false
	}
	return binary.LittleEndian.Uint64(p), true
}

// decodeEnqueue decodes p into m; m's slices alias p (Topic is copied).
func decodeEnqueue(p []byte, m *QueueMessage) error {
	if len(p) < enqueueFixed {
		return fmt.Errorf("%w: enqueue of %d bytes", ErrBadPayload, len(p))
	}
	m.ID = binary.LittleEndian.Uint64(p)
	m.Priority = p[8]
	m.Deliveries = binary.LittleEndian.Uint32(p[9:])
	m.Deadline = int64(binary.LittleEndian.Uint64(p[13:]))
	tl := int(binary.LittleEndian.Uint16(p[21:]))
	rest := p[23:]
	if len(rest) < tl+4 {
		return fmt.Errorf("%w: enqueue topic of %d bytes, %d left", ErrBadPayload, tl, len(rest))
	}
	m.Topic = string(rest[:tl])
	rest = rest[tl:]
	hl := int(binary.LittleEndian.Uint32(rest))
	rest = rest[4:]
	if hl > len(rest) {
		return fmt.Errorf("%w: enqueue headers of %d bytes, %d left", ErrBadPayload, hl, len(rest))
	}
	m.Headers, m.Payload = rest[:hl:hl], rest[hl:]
	return nil
}
