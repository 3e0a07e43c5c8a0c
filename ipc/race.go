//go:build race

package ipc

import "sync/atomic"

// raceEnabled reports a -race build.
const raceEnabled = true

// loadWaiters reads a doorbell's waiter count for Ring. Under the race
// detector Go's atomics are not sequentially consistent: ThreadSanitizer
// runs atomic.Store as a release store (a plain MOV on amd64) and
// atomic.Load as an acquire load, so the ringer's "store the data, then load
// waiters" may be reordered (store-load) and Dekker's pattern loses a
// wake-up. A read-modify-write of the waiter word itself restores the
// ordering: the waiter's increment and this RMW are ordered on that word;
// if ours is later we read the increment, if the waiter's is later it reads
// from our release and so sees the data in Ready.
func loadWaiters(p *uint32) uint32 { return atomic.AddUint32(p, 0) }
