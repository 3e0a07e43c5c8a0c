package bus

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// sendWaiter is one sent message waiting for its confirm.
type sendWaiter struct {
	id    uint64
	pos   atomic.Uint64 // in ring position after its record, or notWritten
	ch    chan error    // cap 1: the verdict, for Send (nil until a Send uses it)
	cb    func(error)   // SendAsync's callback; nil for Send
	timer *time.Timer   // Send's queue timeout, reused
}

// sendTable is the waiters by message id: open addressing with linear
// probing over a power-of-two slice, with backward-shift deletion (no
// tombstones). Ids are scattered by a multiplicative hash: consecutive
// ids in consecutive slots would make one long run, which a deletion
// scans to its end. It grows when half full; in the steady state nothing
// allocates: free waiters are kept.
type sendTable struct {
	mu    sync.Mutex
	slots []*sendWaiter
	shift uint // 64 - log2(len(slots))
	n     int
	free  []*sendWaiter

	sweepToken uint64 // the ping of a sweep for lost confirms (0: none)
	sweepPos   uint64 // the old router's read position it sweeps up to
}

const initialSendSlots = 64

// get returns a free waiter.
func (t *sendTable) get() *sendWaiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	if k := len(t.free); k > 0 {
		w := t.free[k-1]
		t.free[k-1] = nil
		t.free = t.free[:k-1]
		return w
	}
	return new(sendWaiter) // Send gives it a channel and a timer on first use
}

// put recycles a waiter that is in no table and whose channel is empty.
func (t *sendTable) put(w *sendWaiter) {
	t.mu.Lock()
	t.free = append(t.free, w)
	t.mu.Unlock()
}

func (t *sendTable) insert(w *sendWaiter) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(w)
	t.n++
}

// home is id's first slot: Fibonacci hashing, the top bits of id times
// 2^64 divided by the golden ratio.
func (t *sendTable) home(id uint64) int { return int(id * 0x9E3779B97F4A7C15 >> t.shift) }

func (t *sendTable) place(w *sendWaiter) {
	mask := len(t.slots) - 1
	i := t.home(w.id)
	for t.slots[i] != nil {
		i = (i + 1) & mask
	}
	t.slots[i] = w
}

func (t *sendTable) grow() {
	old := t.slots
	n := max(initialSendSlots, 2*len(old))
	t.slots = make([]*sendWaiter, n)
	t.shift = uint(64 - bits.TrailingZeros(uint(n)))
	for _, w := range old {
		if w != nil {
			t.place(w)
		}
	}
}

// find returns the slot of id, or -1.
func (t *sendTable) find(id uint64) int {
	if t.n == 0 {
		return -1
	}
	mask := len(t.slots) - 1
	for i := t.home(id); t.slots[i] != nil; i = (i + 1) & mask {
		if t.slots[i].id == id {
			return i
		}
	}
	return -1
}

// take removes and returns the waiter of id, or nil.
func (t *sendTable) take(id uint64) *sendWaiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.find(id)
	if i < 0 {
		return nil
	}
	w := t.slots[i]
	t.delete(i)
	return w
}

// remove removes w if it is still in the table, reporting whether it was.
func (t *sendTable) remove(w *sendWaiter) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	i := t.find(w.id)
	if i < 0 || t.slots[i] != w {
		return false
	}
	t.delete(i)
	return true
}

// delete empties slot i and shifts back the entries after it that probed
// past it, so that every entry stays reachable from its home slot.
func (t *sendTable) delete(i int) {
	mask := len(t.slots) - 1
	t.slots[i] = nil
	t.n--
	for j := (i + 1) & mask; t.slots[j] != nil; j = (j + 1) & mask {
		home := t.home(t.slots[j].id)
		// Entry j may stay unless the hole i lies cyclically in [home, j).
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i], t.slots[j] = t.slots[j], nil
			i = j
		}
	}
}

// waitingUpTo reports whether a waiter's record ends at or before pos.
func (t *sendTable) waitingUpTo(pos uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, w := range t.slots {
		if w != nil && w.pos.Load() <= pos {
			return true
		}
	}
	return false
}

// takeUpTo removes and returns every waiter whose record ends at or before
// pos.
func (t *sendTable) takeUpTo(pos uint64) []*sendWaiter {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*sendWaiter
	for i := 0; i < len(t.slots); {
		if w := t.slots[i]; w != nil && w.pos.Load() <= pos {
			out = append(out, w)
			t.delete(i) // may shift another entry into i: look again
			continue
		}
		i++
	}
	return out
}
