package persist

import (
	"bytes"
	"fmt"
	"testing"
)

func openQueue(t *testing.T, dir string, opts ...Option) *Queue {
	t.Helper()
	q, err := OpenQueue(dir, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func qmsg(id uint64) *QueueMessage {
	return &QueueMessage{
		ID: id, Priority: uint8(id % 10), Deadline: int64(id) * 1e9, Topic: fmt.Sprintf("orders.%d", id%3),
		Headers: []byte("h=" + fmt.Sprint(id)), Payload: bytes.Repeat([]byte{byte(id)}, int(id%50)),
	}
}

// model is what the queue should recover: id -> deliveries, in enqueue order.
type model struct {
	order []uint64
	live  map[uint64]uint32
}

func (m *model) check(t *testing.T, q *Queue) {
	t.Helper()
	got, err := q.RecoverAll()
	if err != nil {
		t.Fatal(err)
	}
	var want []uint64
	for _, id := range m.order {
		if _, ok := m.live[id]; ok {
			want = append(want, id)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("recovered %d messages, want %d", len(got), len(want))
	}
	for i, g := range got {
		w := qmsg(want[i])
		if g.ID != w.ID || g.Priority != w.Priority || g.Deadline != w.Deadline || g.Topic != w.Topic ||
			!bytes.Equal(g.Headers, w.Headers) || !bytes.Equal(g.Payload, w.Payload) || g.Deliveries != m.live[g.ID] {
			t.Fatalf("message %d: got %+v, want id %d deliveries %d", i, g, w.ID, m.live[g.ID])
		}
		if i > 0 && g.Seq <= got[i-1].Seq {
			t.Fatalf("out of order at %d", i)
		}
	}
	if q.Live() != len(want) {
		t.Fatalf("Live %d, want %d", q.Live(), len(want))
	}
}

func TestQueueRecoverCompact(t *testing.T) {
	dir := t.TempDir()
	opts := []Option{WithSegmentSize(4 << 10), WithCompactRatio(0.5)}
	q := openQueue(t, dir, opts...)
	m := &model{live: map[uint64]uint32{}}
	n := uint64(scale(1500, 600))
	for id := uint64(1); id <= n; id++ {
		if _, err := q.Enqueue(qmsg(id), nil); err != nil {
			t.Fatal(err)
		}
		m.order = append(m.order, id)
		m.live[id] = 0
		switch {
		case id%100 == 7: // long-lived: pins its segment
		case id%5 == 0:
			q.Nak(id, 3, nil)
			m.live[id] = 3
		case id%7 == 0:
			q.DeadLetter(id-1, nil)
			delete(m.live, id-1)
		case id > 3:
			if _, ok := m.live[id-3]; ok && (id-3)%100 != 7 && (id-3)%5 != 0 {
				q.Ack(id-3, nil)
				delete(m.live, id-3)
			}
		}
	}
	if _, err := q.Ack(999999, nil); err == nil {
		t.Fatal("ack of unknown id accepted")
	}
	m.check(t, q)
	q.Close()

	q = openQueue(t, dir, opts...)
	m.check(t, q)
	before := q.Log().Stats().Segments
	st, err := q.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if st.Deleted+st.Rewritten == 0 || st.Dropped == 0 {
		t.Fatalf("compaction did nothing: %+v (segments %d)", st, before)
	}
	t.Logf("compaction: %+v of %d segments", st, before)
	m.check(t, q)
	// Settle a message that lives in a rewritten segment, nak another.
	q.Ack(7, nil)
	delete(m.live, 7)
	q.Nak(107, 9, nil)
	m.live[107] = 9
	q.Close()

	q = openQueue(t, dir, opts...)
	m.check(t, q)
	st2, err := q.Compact() // idempotent apart from the new settlements
	if err != nil {
		t.Fatal(err)
	}
	m.check(t, q)
	q.Close()
	q = openQueue(t, dir, opts...)
	defer q.Close()
	m.check(t, q)
	rep, err := Verify(dir)
	if err != nil || !rep.OK() || rep.Live != int64(len(m.live)) {
		t.Fatalf("verify: %+v %v", rep.Problems, err)
	}
	t.Logf("second compaction %+v", st2)
}

// TestQueueFullySettledSegmentsDeleted: once every message is settled, all
// sealed segments go.
func TestQueueFullySettledSegmentsDeleted(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, WithSegmentSize(4<<10))
	defer q.Close()
	for id := uint64(1); id <= 300; id++ {
		q.Enqueue(qmsg(id), nil)
		q.Ack(id, nil)
	}
	q.Enqueue(qmsg(1000), nil)
	q.Log().Flush(t.Context())
	counts := q.LiveCounts()
	if len(counts) < 3 {
		t.Fatalf("%d segments", len(counts))
	}
	st, err := q.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if st.Deleted != len(counts)-1 || q.Log().Stats().Segments != 1 {
		t.Fatalf("%+v, %d segments left", st, q.Log().Stats().Segments)
	}
	got, _ := q.RecoverAll()
	if len(got) != 1 || got[0].ID != 1000 {
		t.Fatalf("recovered %v", got)
	}
}
