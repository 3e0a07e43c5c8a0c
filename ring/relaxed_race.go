//go:build race

package ring

import "sync/atomic"

// storeRelaxed: see relaxed_norace.go.
func storeRelaxed(p *uint64, v uint64) { atomic.StoreUint64(p, v) }
