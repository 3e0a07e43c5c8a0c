package ring

import "fmt"

// Consumer crash safety: the consumer table and its run words.
//
// A consumer claims a run of up to maxRun committed slots with one CAS on the
// dequeue position, then hands each to its handler and frees it (seq =
// pos+slots). A consumer that dies between the CAS and the last free would
// leave slots "committed, not freed" forever, and one lap later every
// producer would get ErrFull at them. So each consumer records the run it is
// about to claim in its entry of the consumer table, and whoever meets the
// wedge frees the slots of a dead consumer's run. Those records are lost:
// delivery is at most once for a consumer that dies holding them.
//
// Protocol. Consumer C, entry e (owner word claimed with one CAS on attach,
// as producers claim theirs):
//
//	1. run[e] = (p, k)           before CAS(D, p, p+k): the intent
//	2. CAS(D, p, p+k)            on failure, back to 1 with the new D, or,
//	                             if nothing is committed there, run[e] = 0
//	3. for each slot: hand it over, seq = pos+slots
//	4. the next intent (1), Close (run[e] = 0, then owner[e] = 0), or
//	   nothing: a finished run's word may stay
//
// Plain stores to C's own block: one per claim attempt (step 1), plus a
// clear when an attempt lost its race and the call then found nothing to
// take. An uncontended run costs one store, whatever its length.
//
// Let q be a position below D whose slot still reads seq == q+1 (committed,
// not freed). Exactly one consumer H moved D past q (D only grows, and runs
// are the disjoint intervals its CASes jumped over): H holds q. Then:
//
//	(I) run[e_H] covers q from before H's CAS (step 1 precedes it, and a
//	    reader that saw D > q loaded D after that CAS) until after q is
//	    freed: H rewrites run[e_H] only in steps 1, 2 (clear) and 4, after
//	    its run is done (a handler that panics leaves the run in place, and
//	    the next Read finishes it first), and a new owner of e_H overwrites
//	    it only after every slot it still holds is freed (claimConsumer).
//
// Any other run word covering q is stale: a finished run covers only freed
// slots; a live consumer's failed intent lasts until its next intent or
// its clear, within the same claimRun call; a dead consumer's failed
// intent may stay forever, but it is dead.
//
// Recovery rule. A recoverer frees the slot at q (CAS(seq, q+1, q+slots)) only
// if it loaded D > q, then read the table and found at least one run word
// covering q and every covering word belonging to a dead owner. Each entry
// is read owner, run, owner, and taken as the dead owner's only if both
// owner reads agree (a new owner writes run words only after its owner
// CAS, so a run word read between two equal reads of a dead owner is that
// owner's); an entry whose owner changed counts as live.
//
// Safety: the CAS succeeds only if q stayed unfreed from the recoverer's
// seq read to its CAS (seq only grows), so across its whole table read; by
// (I) it saw run[e_H] covering q, with owner H. It found that owner dead, so
// H is dead and will never free q itself. A live consumer is never robbed,
// however long its handler takes: there is no timeout on reads.
//
// Progress: once H is dead, only stale intents of live consumers can stop
// a recoverer, and those are overwritten or cleared within their claimRun
// call; the producer retries (rate-limited), so the wedge clears.
//
// Liveness is per process (the owner word), as for producers: consumers of
// one process share its identity, and one whose goroutine exits inside a
// handler, its process still running, holds its slots until that process
// exits. A stalled consumer (SIGSTOP, a handler that blocks) is alive.
//
// Recoverers: a producer that finds the previous lap's record still held at
// its slot while D is past it (Claim, before returning ErrFull), and a
// consumer attaching. That one frees the runs of every dead consumer, and
// before it takes over a dead consumer's entry it must have freed what the
// dead one holds, since its own intents will overwrite the word; if it
// cannot yet (a live stale intent), it leaves the entry and takes another.
// For "q not held" on takeover it also counts q >= D, which it may only
// conclude with D loaded after it found the old owner dead: a dead owner's
// CAS, if any, came before.

// packRun builds a run word: k slots from position pos.
func packRun(pos, k uint64) uint64 { return k<<runPosBits | pos&runPosMask }

// runCount is the number of slots in the run word w (0: no run).
func runCount(w uint64) uint64 { return w >> runPosBits & (1<<runCountBits - 1) }

// runCovers reports whether the run word w covers position pos.
func runCovers(w, pos uint64) bool { return (pos-w)&runPosMask < runCount(w) }

func consumerEntry(i int) int { return mpmcConsumersOffset + i*consumerEntrySize }

// Entry states in a consumerView.
const (
	entryIdle    = iota // no run word
	entryUnknown        // an owner whose liveness is not checked yet
	entryLive           // a live owner, or one that changed while read
	entryDead           // a dead owner, or none
)

// consumerView is one read of the consumer table, with liveness checked
// lazily (a check reads /proc), for one recovery.
type consumerView struct {
	q     *mpmc
	d     uint64 // the dequeue position, loaded before the table
	owner [MaxConsumers]uint64
	run   [MaxConsumers]uint64
	state [MaxConsumers]uint8
}

// scan reads the table; d must have been loaded before.
func (v *consumerView) scan(q *mpmc, d uint64) {
	v.q, v.d = q, d
	for i := range v.run {
		off := consumerEntry(i)
		o := q.r.load64(off + consumerOwnerOffset)
		w := q.r.load64(off + consumerRunOffset)
		v.owner[i], v.run[i] = o, w
		switch {
		case runCount(w) == 0:
			v.state[i] = entryIdle
		case q.r.load64(off+consumerOwnerOffset) != o:
			v.state[i] = entryLive
		case o == 0:
			v.state[i] = entryDead
		default:
			v.state[i] = entryUnknown
		}
	}
}

func (v *consumerView) live(i int) bool {
	if v.state[i] == entryUnknown {
		v.state[i] = entryDead
		if v.q.o.alive(unpackOwner(v.owner[i])) {
			v.state[i] = entryLive
		}
	}
	return v.state[i] == entryLive
}

// liveCovers reports whether a live consumer's run word covers pos.
func (v *consumerView) liveCovers(pos uint64) bool {
	for i, w := range v.run {
		if v.state[i] != entryIdle && runCovers(w, pos) && v.live(i) {
			return true
		}
	}
	return false
}

// held reports whether the slot for pos still holds pos's committed record
// (revoked or not), not yet freed.
func (q *mpmc) held(pos uint64) bool {
	return q.r.load64(q.slot(pos)+slotSeqOffset)&^abandonedBit == pos+1
}

// releaseRun frees every slot that entry i's run holds, unless a live
// consumer's run covers it too; the owner of entry i must be dead. It
// reports whether none is left held.
func (v *consumerView) releaseRun(i int) bool {
	q, w := v.q, v.run[i]
	delta := (v.d - w) & runPosMask // how far the run starts below D
	if delta > q.slots+maxRun {
		// Ahead of D (an intent that never won), or so far behind that
		// its slots have been reused since: it holds nothing.
		return true
	}
	first, done := v.d-delta, true
	for j := uint64(0); j < runCount(w) && j < delta; j++ {
		pos := first + j
		if !q.held(pos) {
			continue
		}
		if v.liveCovers(pos) {
			done = false // a live stale intent: wait until it is gone
			continue
		}
		q.release(pos)
	}
	return done
}

// release frees the slot at pos, held by a dead consumer, the way take
// would have: a revoked claim is freed or quarantined, a record is dropped
// and counted. The CAS fails if anyone freed it first.
func (q *mpmc) release(pos uint64) {
	so := q.slot(pos)
	seq := q.r.load64(so + slotSeqOffset)
	if seq == (pos+1)|abandonedBit {
		free := pos + q.slots
		if owner, known := q.ownerOf(so, pos); known && q.o.alive(owner) {
			free |= abandonedBit
		}
		if q.r.cas64(so+slotSeqOffset, seq, free) {
			q.roomBell.Ring()
		}
		return
	}
	_, typ, _ := splitHeader(q.r.load64(so + slotHeaderOffset)) // before the CAS hands the slot on
	if seq == pos+1 && q.r.cas64(so+slotSeqOffset, seq, pos+q.slots) {
		if typ != TypePadding {
			q.count(ctrRecoveredReadsOffset)
		}
		q.roomBell.Ring()
	}
}

// recoverRead is called by a producer that found the slot of position pos
// still holding its record a lap later. If the consumer holding it is dead,
// it frees that consumer's run and reports whether pos is free now.
func (q *mpmc) recoverRead(pos uint64) bool {
	d := q.r.load64(mpmcDequeueOffset)
	if int64(d-pos) <= 0 || !q.held(pos) {
		return false // not claimed by a consumer yet: the ring is just full
	}
	var v consumerView
	v.scan(q, d)
	found := false
	for i, w := range v.run {
		if v.state[i] == entryIdle || !runCovers(w, pos) {
			continue
		}
		if v.live(i) {
			return false
		}
		found = true
	}
	if !found {
		return false // nobody recorded it: never free what we cannot attribute
	}
	for i, w := range v.run {
		if v.state[i] != entryIdle && runCovers(w, pos) {
			v.releaseRun(i)
		}
	}
	return !q.held(pos)
}

// claimConsumer takes the first consumer entry that is free or whose owner
// is dead, after freeing what a dead owner's run still holds.
func (q *mpmc) claimConsumer() (int, error) {
	me := packOwner(q.o.self)
	for i := 0; i < MaxConsumers; i++ {
		off := consumerEntry(i)
		cur := q.r.load64(off + consumerOwnerOffset)
		if cur == me || cur != 0 && q.o.alive(unpackOwner(cur)) {
			continue
		}
		// cur is free or dead; D is loaded after that was checked.
		if runCount(q.r.load64(off+consumerRunOffset)) != 0 {
			var v consumerView
			v.scan(q, q.r.load64(mpmcDequeueOffset))
			if v.owner[i] != cur || v.state[i] == entryLive {
				continue
			}
			v.state[i] = entryDead // as found above, before D was loaded
			if !v.releaseRun(i) {
				continue
			}
		}
		if q.r.cas64(off+consumerOwnerOffset, cur, me) {
			// The old run holds nothing now; a stale word under a live
			// owner would hold recoveries up until our first intent.
			q.r.store64(off+consumerRunOffset, 0)
			q.sweepConsumers()
			return i, nil
		}
	}
	return 0, fmt.Errorf("all %d consumer entries held by live processes: %w", MaxConsumers, ErrTooManyConsumers)
}

// sweepConsumers frees what the runs of all dead consumers still hold, so
// that a consumer restarting after a crash cleans up at once, even while
// producers are idle (otherwise the first producer to wrap round to those
// slots does it).
func (q *mpmc) sweepConsumers() {
	var v consumerView
	v.scan(q, q.r.load64(mpmcDequeueOffset))
	for i := range v.run {
		if v.state[i] != entryIdle && !v.live(i) {
			v.releaseRun(i)
		}
	}
}
