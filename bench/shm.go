package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageSize is the size of the shared files used by the baselines.
const pageSize = 4096

// TempDir makes a directory for a benchmark's shared files, on tmpfs
// (/dev/shm) when there is one, so page writeback can't stall the run.
// The caller removes it.
func TempDir() (string, error) {
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() && unix.Access("/dev/shm", unix.W_OK) == nil {
		base = "/dev/shm"
	}
	return os.MkdirTemp(base, "shmbus-bench-")
}

// mapFile maps size bytes of path MAP_SHARED, creating and zero-filling the
// file when create is set. The returned slice is the one unix.Mmap returned
// and must be given back to unix.Munmap unchanged.
func mapFile(path string, size int, create bool) ([]byte, error) {
	flags := os.O_RDWR
	if create {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close() // the mapping outlives the descriptor
	if create {
		if err := f.Truncate(int64(size)); err != nil {
			return nil, err
		}
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("bench: mmap %s: %w", path, err)
	}
	return mem, nil
}

// newShared creates a one-page shared file in dir and maps it.
func newShared(dir string) (path string, mem []byte, err error) {
	path = filepath.Join(dir, "lines")
	mem, err = mapFile(path, pageSize, true)
	return path, mem, err
}

// Offsets of the words in the baselines' shared page: each on its own
// 128-byte block (two cache lines, as adjacent-line prefetch pairs them).
const (
	offLine  = 128 // the probe's line; the futex word of the ping-pongs
	offFlagA = 256 // "parent parked" flag (spin-then-park)
	offFlagB = 384 // "child parked" flag (spin-then-park)
	offDone  = 512 // consumer finished (throughput)
)

func word64(mem []byte, off int) *atomic.Uint64 {
	if off%8 != 0 || off+8 > len(mem) {
		panic("bench: misaligned or out-of-range shared word")
	}
	return (*atomic.Uint64)(unsafe.Pointer(&mem[off]))
}

func word32(mem []byte, off int) *atomic.Uint32 {
	if off%4 != 0 || off+4 > len(mem) {
		panic("bench: misaligned or out-of-range shared word")
	}
	return (*atomic.Uint32)(unsafe.Pointer(&mem[off]))
}
