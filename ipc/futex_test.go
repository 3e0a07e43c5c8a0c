package ipc

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestFutexWaitValueChanged(t *testing.T) {
	var w uint32 = 5
	if err := FutexWait(&w, 4, time.Hour); err != nil { // *addr != val: EAGAIN
		t.Fatalf("got %v, want nil", err)
	}
}

func TestFutexWaitTimeout(t *testing.T) {
	var w uint32
	waits0, _ := SyscallStats()
	if err := FutexWait(&w, 0, time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if waits, _ := SyscallStats(); waits <= waits0 {
		t.Errorf("wait counter did not move: %d -> %d", waits0, waits)
	}
	if a := testing.AllocsPerRun(20, func() { _ = FutexWait(&w, 0, time.Microsecond) }); a != 0 {
		t.Errorf("FutexWait allocates %v", a)
	}
}

func TestFutexWake(t *testing.T) {
	var w uint32
	done := make(chan error)
	go func() { done <- FutexWait(&w, 0, 0) }()
	deadline := time.After(10 * time.Second)
	for {
		// Until the waiter is queued the wake finds nobody; keep trying.
		atomic.StoreUint32(&w, 0)
		if n, err := FutexWake(&w, 1); err != nil {
			t.Fatal(err)
		} else if n == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("FutexWait returned early: %v", err)
		case <-deadline:
			t.Fatal("waiter never queued")
		case <-time.After(time.Millisecond):
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_, wakes := SyscallStats()
	if wakes == 0 {
		t.Error("wake counter is zero")
	}
}
