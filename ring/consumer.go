package ring

import (
	"fmt"
	"sync/atomic"

	"github.com/shmbus/shmbus/ipc"
)

// Handler receives one record. payload points into the ring and is valid
// only until the handler returns: copy what must outlive the call.
type Handler func(typ, flags uint16, payload []byte)

// Consumer is the reading side of an SPSC ring. It is owned by one goroutine
// at a time and by one process at a time.
//
// The consumer never reads the producer's tail. It polls the header word of
// the record at its head (Agrona's trick): the producer's commit is the
// release store of that word, so one cache-line transfer carries both the
// "ready" signal and, for small records, the payload.
//
// The ring is untrusted input: a header with an impossible length stops the
// consumer with ErrCorrupt (see Err) instead of reading outside the ring.
type Consumer struct {
	r        region
	data     []byte
	mask     uint64
	capacity uint64
	maxLen   int32

	head      uint64 // local copy; the shared word is written, never read back
	published uint64 // the head last stored in shared memory
	bell      *ipc.Doorbell
	roomBell  *ipc.Doorbell
	err       error
	o         options
	closed    bool

	// Mirrors of head and err for Ready, which other goroutines may call
	// while one reads (a hint: the reader may move on right after).
	sharedHead atomic.Uint64
	failed     atomic.Bool
}

// NewConsumer attaches the consumer side of the SPSC ring in region. It fails
// with ErrAttached while another live process owns the consumer side.
func NewConsumer(b []byte, opts ...Option) (*Consumer, error) {
	o, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	r, capacity, err := spscGeometry(b)
	if err != nil {
		return nil, err
	}
	bell, err := ipc.NewDoorbell(b[spscConsumerBellOffset:])
	if err != nil {
		return nil, err
	}
	roomBell, err := ipc.NewDoorbell(b[spscProducerBellOffset:])
	if err != nil {
		return nil, err
	}
	takenOver, err := claimOwner(r, spscOwnersOffset+ownersConsumerOffset, "consumer", o)
	if err != nil {
		return nil, err
	}
	if takenOver {
		resetWaiters(r, spscConsumerBellOffset)
	}
	r.add64(spscCountersOffset+ctrConsumerAttachOffset, 1)
	c := &Consumer{
		r:         r,
		data:      b[spscDataOffset : spscDataOffset+capacity],
		mask:      uint64(capacity - 1),
		capacity:  uint64(capacity),
		maxLen:    int32(SPSCMaxPayload(capacity) + HeaderLength),
		head:      r.load64(spscHeadOffset),
		published: r.load64(spscHeadOffset),
		bell:      bell,
		roomBell:  roomBell,
		o:         o,
	}
	c.sharedHead.Store(c.head)
	return c, nil
}

// Read hands every available record, up to limit (<= 0: no limit), to h in
// one pass, then publishes the new head once. It returns the number of
// records handed over (padding is not counted). It never blocks.
func (c *Consumer) Read(h Handler, limit int) int {
	return c.read(h, nil, limit)
}

// ReadWhile is Read with a handler that may refuse a record: when h returns
// false, that record stays in the ring (it is the next one read) and the
// pass ends. A router uses it to hold a publisher back while a subscriber
// has no room, without copying the record out.
func (c *Consumer) ReadWhile(h func(typ, flags uint16, payload []byte) bool, limit int) int {
	return c.read(nil, h, limit)
}

func (c *Consumer) read(h Handler, hw func(typ, flags uint16, payload []byte) bool, limit int) int {
	if c.err != nil || c.closed {
		return 0
	}
	head := c.head
	n := 0
	// One pass covers at most one ring's worth of bytes, so a Read call
	// does bounded work even when a fast producer keeps refilling.
	for (limit <= 0 || n < limit) && head-c.head < c.capacity {
		idx := head & c.mask
		// Acquire: pairs with the producer's publishing store; everything the
		// producer wrote before it (payload, later headers of the batch) is
		// visible once we see a positive length.
		length, typ, flags := splitHeader(c.r.load64(spscDataOffset + int(idx)))
		if length <= 0 {
			break
		}
		alen := uint64(align(int(length), RecordAlignment))
		// Legitimate records fit before the end of the buffer and carry at
		// most maxLen bytes. Padding longer than that is only ever the wrap
		// filler: it starts past index 0 and ends exactly at the buffer end.
		// (Garbage such as a padding record spanning the whole ring would
		// otherwise let a hostile producer keep the consumer skipping.)
		if length < HeaderLength || alen > c.capacity-idx ||
			(length > c.maxLen && (typ != TypePadding || idx == 0 || alen != c.capacity-idx)) {
			c.err = fmt.Errorf("record at position %d (index %d): type %#x length %d outside [%d, %d]: %w",
				head, idx, typ, length, HeaderLength, min(c.maxLen, int32(c.capacity-idx)), ErrCorrupt)
			c.failed.Store(true)
			break
		}
		if typ != TypePadding {
			payload := c.data[idx+HeaderLength : idx+uint64(length) : idx+uint64(length)]
			if h != nil {
				h(typ, flags, payload)
			} else if !hw(typ, flags, payload) {
				break
			}
			n++
		}
		head += alen
		// On a long pass, hand room back every quarter ring so that the
		// producer is not stalled until the pass ends.
		if !c.o.deferRelease && head-c.published >= c.capacity/4 {
			c.publish(head)
		}
	}
	if head != c.published && !c.o.deferRelease {
		c.publish(head)
	}
	if head != c.head {
		c.head = head
		c.sharedHead.Store(head)
	}
	return n
}

// Release hands the space of every record read so far back to the producer
// (a consumer attached WithDeferredRelease must call it; others need not).
func (c *Consumer) Release() {
	if c.head != c.published {
		c.publish(c.head)
	}
}

// publish stores the head. Release: our reads of the records happen before
// the producer may reuse their bytes. Sequentially consistent, so it also
// orders before the room doorbell's load of the waiter count.
func (c *Consumer) publish(head uint64) {
	c.published = head
	c.r.store64(spscHeadOffset, head)
	c.roomBell.Ring()
}

// Ready reports whether a committed record is waiting (ipc.Parkable). Unlike
// the other methods it may be called from any goroutine, also while one
// reads (it then answers for the moment of the call).
func (c *Consumer) Ready() bool {
	if c.failed.Load() {
		return true // wake the caller so it sees the error
	}
	head := c.sharedHead.Load()
	length, _, _ := splitHeader(c.r.load64(spscDataOffset + int(head&c.mask)))
	return length > 0
}

// Doorbell is the doorbell the producer rings after publishing (ipc.Parkable).
func (c *Consumer) Doorbell() *ipc.Doorbell { return c.bell }

// MaxPayload is the largest payload the producer may write.
func (c *Consumer) MaxPayload() int { return int(c.maxLen) - HeaderLength }

// Err returns the corruption that stopped the consumer, if any.
func (c *Consumer) Err() error { return c.err }

// Position is the consumer's head: bytes consumed since the ring was made.
func (c *Consumer) Position() uint64 { return c.head }

// Stats reads the ring's shared counters.
func (c *Consumer) Stats() SPSCStats {
	return spscStats(c.r, int(c.capacity))
}

// Close releases the consumer side so another process can attach.
func (c *Consumer) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	releaseOwner(c.r, spscOwnersOffset+ownersConsumerOffset, c.o.self)
	return nil
}
