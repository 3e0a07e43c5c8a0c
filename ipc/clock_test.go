package ipc

import "testing"

// MonotonicNanos reads CLOCK_MONOTONIC: between two clock_gettime calls,
// up to the calibration error.
func TestMonotonicMatchesClockGettime(t *testing.T) {
	for range 1000 {
		a := clockMonotonic()
		m := MonotonicNanos()
		b := clockMonotonic()
		if m < a-monoError || m > b+monoError {
			t.Fatalf("MonotonicNanos %d outside [%d, %d] ± %d", m, a, b, monoError)
		}
	}
}

func TestMonotonicNanosDoesNotAllocate(t *testing.T) {
	if a := testing.AllocsPerRun(100, func() { MonotonicNanos() }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}
