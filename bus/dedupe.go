package bus

// Duplicate suppression.
//
// A router reads a publisher's in ring in passes and stores its read
// position (the ring's head) once per pass, and a publish held back by a
// Block-policy subscriber stays at the head while the other subscribers
// already have it. So a router that starts after another one died (or was
// stopped during such a stall) may route again records its predecessor had
// already delivered. Every message carries its publisher's connection id
// and a per-connection sequence (Msg.ID = id<<40 | seq), and a publisher's
// messages reach a subscription in sequence order, so a subscription needs
// only the last sequence it was handed per publisher: a message whose
// sequence is not above it is a repeat and is dropped (Stats.Duplicates).
//
// Router-made messages (statuses, $SYS events) have ID 0 and always pass.
//
// The table is per subscription, not per connection: the router delivers a
// message once per matching subscription, each time with the same ID. So a
// queue group's repeat that the new router hands to another member (its
// round robin starts over) is not caught: that member never had it.
//
// It relies on a connection id not being handed to another publisher while
// a subscriber may still remember it; the router keeps ids unique across
// its restarts for that reason (router/ids.go).

const (
	seqBits      = 40
	seqMask      = 1<<seqBits - 1
	seqPageBits  = 10 // publisher ids per page
	seqPageSize  = 1 << seqPageBits
	seqPageMask  = seqPageSize - 1
	maxPublisher = 1<<(64-seqBits) - 1 // ids are the top 24 bits of Msg.ID
)

// seqPage is the last sequence per publisher id of one block of ids.
type seqPage [seqPageSize]uint64

// seqFilter is a subscription's last delivered sequence per publisher
// connection id. Only the dispatcher touches it.
//
// Ids are small integers handed out in order, so the table is a slice of
// pages indexed by id: two bounds checks and a load per message, and an
// allocation only when a message comes from an id of a page not seen
// before. It is bounded: at most 2^24/1024 page pointers (128 KiB) plus
// 8 KiB per page in use.
type seqFilter struct {
	pages []*seqPage
}

// admit reports whether the message with this ID is new to the
// subscription, and remembers it. It does not allocate once the
// publisher's page exists.
func (f *seqFilter) admit(id uint64) bool {
	if id == 0 {
		return true // made by the router
	}
	pub, seq := id>>seqBits, id&seqMask
	if p := pub >> seqPageBits; p < uint64(len(f.pages)) {
		if pg := f.pages[p]; pg != nil {
			last := &pg[pub&seqPageMask]
			if seq <= *last {
				return false
			}
			*last = seq
			return true
		}
	}
	f.page(pub)[pub&seqPageMask] = seq
	return true
}

// page returns the page of publisher id pub, allocating it (and growing the
// page index up to it) on first use.
func (f *seqFilter) page(pub uint64) *seqPage {
	p := int(pub >> seqPageBits)
	if p >= len(f.pages) {
		f.pages = append(f.pages, make([]*seqPage, p+1-len(f.pages))...)
	}
	if f.pages[p] == nil {
		f.pages[p] = new(seqPage)
	}
	return f.pages[p]
}
