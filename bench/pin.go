package bench

import (
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// cpuPair is the two CPUs the benchmarks run on: the first two CPUs this
// process may use (CPU 0 and 1 on the reference VM). single is true when
// fewer than two are usable; then nothing is pinned and spin loops yield.
var cpuPair = sync.OnceValue(func() (p struct {
	a, b   int
	single bool
}) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() < 2 {
		p.single = true
		return p
	}
	found := 0
	for cpu := 0; cpu < len(set)*64 && found < 2; cpu++ {
		if set.IsSet(cpu) {
			if found == 0 {
				p.a = cpu
			} else {
				p.b = cpu
			}
			found++
		}
	}
	return p
})

// CPUs returns the two CPUs benchmarks pin to, and false when the process
// can use only one CPU (benchmarks then run unpinned).
func CPUs() (a, b int, ok bool) {
	p := cpuPair()
	return p.a, p.b, !p.single
}

// singleCPU reports whether both sides of a benchmark share one CPU; spin
// loops then give the CPU away now and then so the partner can run.
func singleCPU() bool { return cpuPair().single }

// Pin locks the calling goroutine to its OS thread and binds that thread to
// cpu. The returned func restores the thread's previous affinity and unlocks
// it (so the thread can be reused and never has to exit, which matters for
// children started with Pdeathsig). With one usable CPU, or if cpu is not
// allowed, Pin only locks the thread and reports pinned == false.
func Pin(cpu int) (unpin func(), pinned bool) {
	runtime.LockOSThread()
	var old unix.CPUSet
	if singleCPU() || unix.SchedGetaffinity(0, &old) != nil || !old.IsSet(cpu) {
		return runtime.UnlockOSThread, false
	}
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return runtime.UnlockOSThread, false
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}, true
}

// relax is called from the slow path of spin loops (every few thousand
// spins): on one CPU it yields so the partner thread or process can run.
func relax() {
	if singleCPU() {
		unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	}
}
