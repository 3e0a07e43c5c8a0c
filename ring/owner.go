package ring

import (
	"fmt"

	"github.com/shmbus/shmbus/ipc"
)

// packOwner encodes a process identity as an owner word (see layout.go).
func packOwner(p ipc.Process) uint64 {
	return uint64(p.PID)<<ownerStartBits | p.StartTime&(1<<ownerStartBits-1)
}

// unpackOwner decodes an owner word.
func unpackOwner(w uint64) ipc.Process {
	return ipc.Process{PID: int(w >> ownerStartBits), StartTime: w & (1<<ownerStartBits - 1)}
}

// validIdentity reports whether p fits an owner word.
func validIdentity(p ipc.Process) error {
	if p.PID <= 0 || p.PID >= 1<<ownerPIDBits || p.StartTime >= 1<<ownerStartBits {
		return fmt.Errorf("%w: identity pid %d start %d does not fit an owner word", ipc.ErrInvalidOption, p.PID, p.StartTime)
	}
	return nil
}

// claimOwner records o.self in the owner word at off, taking over from a
// recorded owner only when that owner is dead. One CAS claims the whole
// identity, so two processes racing to take over from a dead owner cannot
// both win: the loser's CAS fails and it re-reads a live owner.
func claimOwner(r region, off int, side string, o options) (takenOver bool, err error) {
	me := packOwner(o.self)
	for {
		cur := r.load64(off + ownerWordOffset)
		if cur != 0 {
			prev := unpackOwner(cur)
			if cur == me {
				return false, fmt.Errorf("%s side already attached by this process (pid %d): %w", side, prev.PID, ErrAttached)
			}
			if o.alive(prev) {
				return false, fmt.Errorf("%s side owned by live process %d: %w", side, prev.PID, ErrAttached)
			}
		}
		if r.cas64(off+ownerWordOffset, cur, me) {
			return cur != 0, nil
		}
	}
}

// releaseOwner clears the owner word if it still names p.
func releaseOwner(r region, off int, p ipc.Process) {
	r.cas64(off+ownerWordOffset, packOwner(p), 0)
}

// ownerAt reads the owner word at off (PID 0: nobody).
func ownerAt(r region, off int) ipc.Process {
	return unpackOwner(r.load64(off + ownerWordOffset))
}
