//go:build !race

package ring

import "unsafe"

// storeRelaxed writes an aligned 64-bit word with a plain store. An aligned
// 64-bit store is single-copy atomic on every 64-bit CPU Go supports, so a
// concurrent reader sees the old or the new word, never a mix. It orders
// nothing by itself: a later atomic store (a release on arm64, an XCHG on
// amd64) publishes it. The Go compiler keeps stores in program order relative
// to atomic operations, which is all the rings rely on.
//
// Under the race detector the atomic variant is used instead, so that the
// intended unsynchronised-but-ordered accesses are not reported.
func storeRelaxed(p *uint64, v uint64) { *(*uint64)(unsafe.Pointer(p)) = v }
