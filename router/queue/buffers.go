package queue

import "math/bits"

// Payload buffers come in power-of-two size classes from 64 B to 1 MiB,
// each class with its own free list; a larger payload gets a buffer of its
// exact size that is left to the garbage collector. In a steady state
// (messages leave as fast as they come) every Push finds a buffer of its
// class on the free list, so push/deliver/ack allocates nothing.
const (
	minClassShift = 6
	maxClassShift = 20
	numClasses    = maxClassShift - minClassShift + 1
	// maxPooled bounds the bytes a queue keeps in its free lists (at most
	// its MaxBytes), so a burst does not pin its peak memory forever.
	maxPooled = 16 << 20
)

// bufPool is the free lists of one queue.
//
// Invariant: every buffer in free[c] has capacity 1<<(c+minClassShift), and
// retained is the sum of their capacities, at most limit.
type bufPool struct {
	free     [numClasses][][]byte
	retained int64
	limit    int64
}

// class is the size class holding n bytes (n <= 1<<maxClassShift).
func class(n int) int {
	if n <= 1<<minClassShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minClassShift
}

// get returns a buffer of length n (nil for n == 0).
func (p *bufPool) get(n int) []byte {
	if n == 0 {
		return nil
	}
	if n > 1<<maxClassShift {
		return make([]byte, n)
	}
	c := class(n)
	if k := len(p.free[c]); k > 0 {
		b := p.free[c][k-1]
		p.free[c][k-1] = nil
		p.free[c] = p.free[c][:k-1]
		p.retained -= int64(cap(b))
		return b[:n]
	}
	return make([]byte, n, 1<<(c+minClassShift))
}

// put takes back a buffer that get returned.
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c == 0 || c > 1<<maxClassShift || c&(c-1) != 0 || p.retained+int64(c) > p.limit {
		return
	}
	k := class(c)
	p.free[k] = append(p.free[k], b[:0])
	p.retained += int64(c)
}
