package queue

// dheap is a binary min-heap of messages on key[slot], with each message's
// position kept in hidx[slot] so that any message can be removed or re-keyed
// in O(log n). Two of them drive every timer: expiry (deadlines of ready and
// delayed messages) and timers (ack deadlines and Nak due times).
//
// Invariant: for every i, items[i].hidx[slot] == i, and no item's key is
// below its parent's.
type dheap struct {
	items []*msg
	slot  int
}

func (h *dheap) len() int { return len(h.items) }

// peek is the message with the smallest key, nil when empty.
func (h *dheap) peek() *msg {
	if len(h.items) == 0 {
		return nil
	}
	return h.items[0]
}

func (h *dheap) push(m *msg) {
	m.hidx[h.slot] = int32(len(h.items))
	h.items = append(h.items, m)
	h.up(len(h.items) - 1)
}

// remove takes m out of the heap; a no-op when it is not in it.
func (h *dheap) remove(m *msg) {
	i := int(m.hidx[h.slot])
	if i < 0 {
		return
	}
	last := len(h.items) - 1
	if i != last {
		h.swap(i, last)
	}
	h.items[last] = nil
	h.items = h.items[:last]
	m.hidx[h.slot] = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

// fix restores the order after m's key changed.
func (h *dheap) fix(m *msg) {
	i := int(m.hidx[h.slot])
	if !h.down(i) {
		h.up(i)
	}
}

func (h *dheap) less(i, j int) bool {
	return h.items[i].key[h.slot] < h.items[j].key[h.slot]
}

func (h *dheap) swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].hidx[h.slot] = int32(i)
	h.items[j].hidx[h.slot] = int32(j)
}

func (h *dheap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i down and reports whether it moved.
func (h *dheap) down(i int) bool {
	start, n := i, len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}
