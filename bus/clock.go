package bus

import "github.com/shmbus/shmbus/ipc"

// MonotonicNanos returns CLOCK_MONOTONIC in nanoseconds, the clock of
// Msg.PubTime: comparable between processes on this host. It costs a vDSO
// clock read, no system call and no allocation (see ipc.MonotonicNanos).
func MonotonicNanos() int64 { return ipc.MonotonicNanos() }
