package ring

import (
	"fmt"

	"github.com/shmbus/shmbus/ipc"
)

// claimOwner records p as the owner at off (an owner record: pid, start
// time), taking over from a recorded owner only when that owner is dead.
//
// The PID word is the lock: it goes 0 -> pid by CAS, and the start time is
// written after it. A competitor that reads the PID before the start time is
// written sees start time 0 and treats the owner as alive (it cannot prove it
// dead), which is the safe answer.
func claimOwner(r region, off int, side string, o options) (takenOver bool, err error) {
	pidp := off + ownerPIDOffset
	for {
		cur := r.load64(pidp)
		if cur != 0 {
			prev := ipc.Process{PID: int(int64(cur)), StartTime: r.load64(off + ownerStartOffset)}
			if prev.StartTime != 0 && prev == o.self {
				return false, fmt.Errorf("%s side already attached by this process (pid %d): %w", side, prev.PID, ErrAttached)
			}
			if prev.StartTime == 0 || o.alive(prev) {
				return false, fmt.Errorf("%s side owned by live process %d: %w", side, prev.PID, ErrAttached)
			}
		}
		if r.cas64(pidp, cur, uint64(int64(o.self.PID))) {
			r.store64(off+ownerStartOffset, o.self.StartTime)
			return cur != 0, nil
		}
	}
}

// releaseOwner clears the owner record if it still names p.
func releaseOwner(r region, off int, p ipc.Process) {
	if r.load64(off+ownerStartOffset) != p.StartTime {
		return
	}
	r.store64(off+ownerStartOffset, 0)
	r.cas64(off+ownerPIDOffset, uint64(int64(p.PID)), 0)
}

// ownerAt reads the owner record at off.
func ownerAt(r region, off int) ipc.Process {
	return ipc.Process{PID: int(int64(r.load64(off + ownerPIDOffset))), StartTime: r.load64(off + ownerStartOffset)}
}
