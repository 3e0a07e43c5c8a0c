package ring

import (
	"sync/atomic"
	"unsafe"
)

// region is a byte region (heap or mmap) viewed as a set of aligned words.
// All shared-memory accesses of this package go through these accessors, so
// the memory-ordering choices live in one place.
//
// Go's sync/atomic operations are sequentially consistent. On amd64 a load is
// a plain MOV and a store is an XCHG (a full fence), so the rings use atomic
// stores only where they publish, once per batch, and relaxed stores (see
// storeRelaxed) where a later atomic store publishes the write.
type region struct {
	buf  []byte
	base unsafe.Pointer
}

func newRegion(b []byte) region {
	if len(b) == 0 {
		return region{}
	}
	return region{buf: b, base: unsafe.Pointer(&b[0])}
}

func (r region) u64(off int) *uint64 { return (*uint64)(unsafe.Add(r.base, off)) }
func (r region) u32(off int) *uint32 { return (*uint32)(unsafe.Add(r.base, off)) }
func (r region) i64(off int) *int64  { return (*int64)(unsafe.Add(r.base, off)) }

func (r region) load64(off int) uint64     { return atomic.LoadUint64(r.u64(off)) }
func (r region) store64(off int, v uint64) { atomic.StoreUint64(r.u64(off), v) }
func (r region) load32(off int) uint32     { return atomic.LoadUint32(r.u32(off)) }
func (r region) store32(off int, v uint32) { atomic.StoreUint32(r.u32(off), v) }
func (r region) add64(off int, d uint64)   { atomic.AddUint64(r.u64(off), d) }
func (r region) cas64(off int, o, n uint64) bool {
	return atomic.CompareAndSwapUint64(r.u64(off), o, n)
}

// aligned reports whether the region starts on a cache-line boundary.
func (r region) aligned() bool { return uintptr(r.base)%CacheLine == 0 }
