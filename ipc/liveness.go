package ipc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Process identifies a process across PID reuse: the kernel recycles PIDs,
// but a (PID, start time) pair names one process for the life of the boot.
// Store both in shared memory (e.g. a segment header or a heartbeat slot)
// and compare both when checking liveness.
type Process struct {
	PID       int
	StartTime uint64 // clock ticks since boot, /proc/PID/stat field 22
}

// Self returns the calling process (computed once). If /proc is not
// readable its StartTime is 0.
func Self() Process { return selfOnce() }

var selfOnce = sync.OnceValue(func() Process {
	pid := os.Getpid()
	st, _ := ProcessStartTime(pid)
	return Process{PID: pid, StartTime: st}
})

// ProcessStartTime returns the start time of pid in clock ticks since boot
// (field 22 of /proc/PID/stat). A missing process is ErrNoProcess.
func ProcessStartTime(pid int) (uint64, error) {
	_, start, err := readStat(pid)
	return start, err
}

// IsAlive reports whether p is running: the PID exists (kill(pid, 0); EPERM
// means it exists but is not ours), it is not a zombie, and it has p's
// start time (so a recycled PID is not mistaken for p).
func IsAlive(p Process) bool {
	if p.PID <= 0 {
		return false
	}
	if err := unix.Kill(p.PID, 0); err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	state, start, err := readStat(p.PID)
	return err == nil && !deadState(state) && start == p.StartTime
}

// deadState: Z (zombie) and X (dead) have exited; only the PID is left.
func deadState(state byte) bool { return state == 'Z' || state == 'X' }

// readStat reads /proc/PID/stat and returns the state and start time.
func readStat(pid int) (state byte, start uint64, err error) {
	if pid <= 0 {
		return 0, 0, fmt.Errorf("shmbus: process %d: invalid pid: %w", pid, ErrNoProcess)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return 0, 0, fmt.Errorf("shmbus: process %d: %w", pid, ErrNoProcess)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("shmbus: process %d: %w", pid, err)
	}
	state, start, err = parseStat(b)
	if err != nil {
		return 0, 0, fmt.Errorf("shmbus: process %d: /proc/%d/stat: %w", pid, pid, err)
	}
	return state, start, nil
}

var errStatFormat = errors.New("unexpected format")

// parseStat extracts the state (field 3) and start time (field 22) from the
// contents of /proc/PID/stat:
//
//	1234 (comm) S 1 1234 ... starttime ...
//
// comm (field 2) may contain spaces and parentheses, e.g. "a) (b", so
// fields are counted from after the LAST ')', never by splitting the line.
func parseStat(b []byte) (state byte, start uint64, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, errStatFormat
	}
	rest := b[i+1:]
	// Fields 3, 4, ... follow; starttime is field 22, the 20th after ')'.
	const startField = 22 - 3
	for f := 0; ; f++ {
		rest = bytes.TrimLeft(rest, " ")
		end := bytes.IndexByte(rest, ' ')
		if end < 0 {
			end = len(rest)
		}
		field := bytes.TrimRight(rest[:end], "\n")
		if len(field) == 0 {
			return 0, 0, errStatFormat
		}
		switch f {
		case 0:
			if len(field) != 1 {
				return 0, 0, errStatFormat
			}
			state = field[0]
		case startField:
			start, err = strconv.ParseUint(string(field), 10, 64)
			if err != nil {
				return 0, 0, errStatFormat
			}
			return state, start, nil
		}
		rest = rest[end:]
	}
}
