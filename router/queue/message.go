package queue

// state is where a held message is. Each held message is in exactly one
// place; the Queue's counters ready, delayed and inFlight count them.
type state uint8

const (
	stFree     state = iota // on the free list, or detached mid-operation
	stReady                 // in levels[prio], and in the expiry heap if it has a deadline
	stDelayed               // waiting out a Nak delay: in the timer heap, and the expiry heap if it has a deadline
	stInFlight              // with a consumer: in its in-flight list, and in the timer heap if AckTimeout > 0
)

// Heap slots: a message is in at most one position of each heap.
const (
	hExpiry = 0 // keyed by the message's deadline
	hTimer  = 1 // keyed by its ack deadline (in flight) or Nak due time (delayed)
)

// msg is one held message. The queue owns it and its buf.
//
// Invariants:
//   - prev/next link it into exactly one list: levels[prio] when ready,
//     its consumer's in-flight list when in flight, none when delayed;
//     the free list uses next only.
//   - hidx[h] is its index in heap h, or -1; key[h] is that heap's key.
//   - key[hExpiry] is the effective deadline (0 = none) for its whole life.
//   - seq is unique and increases with enqueue order; it never changes, so
//     a message that comes back keeps its place in line.
type msg struct {
	prev, next *msg
	cons       *consumer // holder, when in flight
	id         uint64
	seq        uint64
	key        [2]int64
	hidx       [2]int32
	deliveries uint32
	prio       uint8
	state      state
	buf        []byte // the payload, from the queue's buffer pool
}

// deadline is the message's effective deadline, 0 for none.
func (m *msg) deadline() int64 { return m.key[hExpiry] }

// mlist is an intrusive doubly-linked list of messages with its length and
// payload bytes.
type mlist struct {
	head, tail *msg
	n          int
	bytes      int64
}

func (l *mlist) pushBack(m *msg) {
	m.next = nil
	m.prev = l.tail
	if l.tail != nil {
		l.tail.next = m
	} else {
		l.head = m
	}
	l.tail = m
	l.n++
	l.bytes += int64(len(m.buf))
}

// insertBefore links m before at (at nil: at the back).
func (l *mlist) insertBefore(m, at *msg) {
	if at == nil {
		l.pushBack(m)
		return
	}
	m.next = at
	m.prev = at.prev
	if at.prev != nil {
		at.prev.next = m
	} else {
		l.head = m
	}
	at.prev = m
	l.n++
	l.bytes += int64(len(m.buf))
}

// insertBySeq links m before the first message with a larger seq, keeping a
// seq-sorted list sorted. A new message (the largest seq) goes to the back
// at once; one coming back is placed by walking from the head, at the cost
// of the older messages already there (those that came back before it).
func (l *mlist) insertBySeq(m *msg) {
	if l.tail == nil || l.tail.seq < m.seq {
		l.pushBack(m)
		return
	}
	at := l.head
	for at != nil && at.seq < m.seq {
		at = at.next
	}
	l.insertBefore(m, at)
}

func (l *mlist) remove(m *msg) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next = nil, nil
	l.n--
	l.bytes -= int64(len(m.buf))
}

// newMsg takes a message from the free list (or allocates one while the
// queue grows to its peak).
func (q *Queue) newMsg() *msg {
	m := q.freeMsgs
	if m == nil {
		return &msg{hidx: [2]int32{-1, -1}}
	}
	q.freeMsgs = m.next
	m.next = nil
	return m
}

// freeMsg returns m (detached, buf already given away) to the free list.
func (q *Queue) freeMsg(m *msg) {
	*m = msg{hidx: [2]int32{-1, -1}, next: q.freeMsgs}
	q.freeMsgs = m
}
