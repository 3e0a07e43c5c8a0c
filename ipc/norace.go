//go:build !race

package ipc

import "sync/atomic"

// raceEnabled reports a -race build.
const raceEnabled = false

// loadWaiters reads a doorbell's waiter count for Ring: a plain atomic load,
// ordered after the caller's atomic store of its data because Go's atomics
// are sequentially consistent (a store is an XCHG on amd64). See race.go
// for why a -race build needs more.
func loadWaiters(p *uint32) uint32 { return atomic.LoadUint32(p) }
