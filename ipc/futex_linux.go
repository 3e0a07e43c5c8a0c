package ipc

import (
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Futex operations. These are the SHARED forms (no FUTEX_PRIVATE_FLAG): the
// kernel keys the wait queue by the physical page (inode + offset for a file
// mapping), so a wake in one process reaches a waiter in another that maps
// the same file. The private forms key by (mm, address) and cannot.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

// Process-wide syscall counters, so benchmarks can prove that a busy stream
// makes no futex syscalls. Updated only on the slow path.
var futexWaits, futexWakes atomic.Uint64

// SyscallStats returns how many futex wait and wake syscalls this process
// has made (EINTR retries count again).
func SyscallStats() (waits, wakes uint64) {
	return futexWaits.Load(), futexWakes.Load()
}

// FutexWait blocks while *addr == val, for at most timeout (timeout <= 0
// waits forever). It returns nil when woken (possibly spuriously) or when
// *addr != val on entry (EAGAIN: the value already moved on), and ErrTimeout
// when the timeout expires. EINTR is retried with the remaining time.
// addr must be 4-byte aligned; it may point into any memory, shared or not.
// The check of *addr and the queueing are atomic with respect to FutexWake
// on the same word: that is what makes sleep-after-check race-free.
func FutexWait(addr *uint32, val uint32, timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		var ts unix.Timespec
		var tsp unsafe.Pointer // nil: no timeout
		if timeout > 0 {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			ts = unix.NsecToTimespec(int64(left))
			tsp = unsafe.Pointer(&ts)
		}
		futexWaits.Add(1)
		// Syscall6, not RawSyscall6: the runtime must know this thread may
		// block so it can hand the P to another thread.
		_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait,
			uintptr(val), uintptr(tsp), 0, 0)
		switch e {
		case 0, unix.EAGAIN:
			return nil
		case unix.ETIMEDOUT:
			return ErrTimeout
		case unix.EINTR:
			continue
		default:
			return fmt.Errorf("shmbus: futex wait: %w", e)
		}
	}
}

// FutexWake wakes up to n waiters blocked in FutexWait on addr and returns
// how many it woke.
func FutexWake(addr *uint32, n int) (int, error) {
	futexWakes.Add(1)
	r, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake,
		uintptr(n), 0, 0, 0)
	if e != 0 {
		return 0, fmt.Errorf("shmbus: futex wake: %w", e)
	}
	return int(r), nil
}
