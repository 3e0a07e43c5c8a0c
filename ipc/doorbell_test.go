package ipc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// flag is a Parkable over one shared word: ready when *word == want.
type flag struct {
	word *uint32
	want uint32
	db   *Doorbell
}

func (f *flag) Ready() bool         { return atomic.LoadUint32(f.word) == f.want }
func (f *flag) Doorbell() *Doorbell { return f.db }

func newTestDoorbell(t testing.TB, b []byte) *Doorbell {
	t.Helper()
	d, err := NewDoorbell(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// aligned returns n zeroed bytes, 8-aligned (a []uint64's backing array).
func aligned(n int) []byte {
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), n)
}

func TestNewDoorbellErrors(t *testing.T) {
	b := aligned(16)
	if _, err := NewDoorbell(b[:7]); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short: %v", err)
	}
	if _, err := NewDoorbell(b[2:]); !errors.Is(err, ErrMisaligned) {
		t.Errorf("misaligned: %v", err)
	}
}

func TestDoorbellRingFastPath(t *testing.T) {
	d := newTestDoorbell(t, aligned(8))
	w0, k0 := SyscallStats()
	for range 1000 {
		if d.Ring() {
			t.Fatal("Ring with no waiter made a wake")
		}
	}
	if w1, k1 := SyscallStats(); w1 != w0 || k1 != k0 {
		t.Errorf("syscalls with nobody waiting: waits %d->%d, wakes %d->%d", w0, w1, k0, k1)
	}
	if a := testing.AllocsPerRun(100, func() { d.Ring() }); a != 0 {
		t.Errorf("Ring allocates %v", a)
	}
}

func TestDoorbellWakesManyWaiters(t *testing.T) {
	b := aligned(16)
	d := newTestDoorbell(t, b)
	f := &flag{word: (*uint32)(unsafe.Pointer(&b[8])), want: 1, db: d}
	const n = 4
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for !d.Wait(f, time.Hour) {
			}
		})
	}
	for d.Waiters() < n { // let them park (not required for correctness)
		time.Sleep(time.Millisecond)
	}
	atomic.StoreUint32(f.word, 1)
	if !d.Ring() {
		t.Error("Ring with waiters reported no wake")
	}
	waitGroupOrFail(t, &wg, 10*time.Second, "waiters were not woken")
}

func waitGroupOrFail(t *testing.T, wg *sync.WaitGroup, d time.Duration, msg string) {
	t.Helper()
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatal(msg)
	}
}

// pingPongLayout places two doorbells and the turn counter on separate
// cache lines of a shared region.
const (
	ppPing    = 0   // doorbell side 1 waits on
	ppPong    = 64  // doorbell side 0 waits on
	ppCounter = 128 // turn counter: even = side 0's turn
	ppSize    = 192
)

func pingPongRounds() int {
	switch {
	case testing.Short() || raceEnabled:
		return 20_000
	}
	return 200_000
}

// pingPong plays one side: wait for our turn (counter == 2i+side), pass the
// turn on, ring the other side. It returns an error if abort is set while
// it waits, saying where it stuck.
func pingPong(mem []byte, side, rounds int, idle IdleStrategy, abort *atomic.Bool) error {
	wait, ring := ppPong, ppPing
	if side == 1 {
		wait, ring = ppPing, ppPong
	}
	mine, err := NewDoorbell(mem[wait:])
	if err != nil {
		return err
	}
	theirs, err := NewDoorbell(mem[ring:])
	if err != nil {
		return err
	}
	f := &flag{word: (*uint32)(unsafe.Pointer(&mem[ppCounter])), db: mine}
	for i := range rounds {
		f.want = uint32(2*i + side)
		for !f.Ready() {
			if abort.Load() {
				return fmt.Errorf("side %d stuck in round %d: counter %d, want %d, waiters %d",
					side, i, atomic.LoadUint32(f.word), f.want, mine.Waiters())
			}
			idle.Idle(f)
		}
		idle.Reset()
		atomic.StoreUint32(f.word, f.want+1) // publish (seq-cst), then ring
		theirs.Ring()
	}
	return nil
}

// neverTimeout makes Block rely on wake-ups alone: a lost one hangs until
// the watchdog fires.
var neverTimeout = &Block{Timeout: time.Hour}

func TestDoorbellPingPongGoroutines(t *testing.T) {
	for _, tc := range []struct {
		name   string
		idle   func() IdleStrategy
		rounds int
	}{
		{"block", func() IdleStrategy { return &Block{Timeout: time.Hour} }, pingPongRounds()},
		{"backoff", func() IdleStrategy { return &Backoff{Spins: 10, Yields: 2, MinPark: time.Hour} }, pingPongRounds() / 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := aligned(ppSize)
			var abort atomic.Bool
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for side := range 2 {
				wg.Go(func() { errs[side] = pingPong(mem, side, tc.rounds, tc.idle(), &abort) })
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				abort.Store(true)
				for _, off := range []int{ppPing, ppPong} { // unstick the parked side
					newTestDoorbell(t, mem[off:]).Ring()
				}
				<-done
				t.Fatalf("lost wake-up: %v", errors.Join(errs...))
			}
			if err := errors.Join(errs...); err != nil {
				t.Fatal(err)
			}
			if got := atomic.LoadUint32((*uint32)(unsafe.Pointer(&mem[ppCounter]))); got != uint32(2*tc.rounds) {
				t.Fatalf("counter %d, want %d", got, 2*tc.rounds)
			}
		})
	}
}

func TestDoorbellPingPongProcesses(t *testing.T) {
	dir := t.TempDir()
	seg, err := Create("pingpong", KindControl, ppSize, WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer seg.Close()
	rounds := pingPongRounds()
	cmd := helperCmd(t, "pingpong", "SHMBUS_IPC_DIR="+dir, "SHMBUS_IPC_ROUNDS="+strconv.Itoa(rounds))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waits0, _ := SyscallStats()
	var abort atomic.Bool
	watchdog := time.AfterFunc(60*time.Second, func() {
		abort.Store(true)
		_ = cmd.Process.Kill() // by PID (os.Process), never by name
		if d, err := NewDoorbell(seg.Data()[ppPong:]); err == nil {
			d.Ring() // unstick our own parked side so it can report
		}
	})
	defer watchdog.Stop()
	err = pingPong(seg.Data(), 0, rounds, neverTimeout, &abort)
	werr := cmd.Wait()
	if err != nil {
		t.Fatalf("lost wake-up (parent): %v; child: %v", err, werr)
	}
	if werr != nil {
		t.Fatalf("child: %v", werr)
	}
	if got := atomic.LoadUint32((*uint32)(unsafe.Pointer(&seg.Data()[ppCounter]))); got != uint32(2*rounds) {
		t.Fatalf("counter %d, want %d", got, 2*rounds)
	}
	if waits, _ := SyscallStats(); waits == waits0 {
		t.Error("parent never parked in FutexWait: the test did not exercise the sleeping path")
	}
}

// helperPingPong is side 1 of TestDoorbellPingPongProcesses, in a child.
func helperPingPong() int {
	rounds, _ := strconv.Atoi(os.Getenv("SHMBUS_IPC_ROUNDS"))
	seg, err := Open("pingpong", KindControl, WithDir(os.Getenv("SHMBUS_IPC_DIR")))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer seg.Close()
	var abort atomic.Bool
	time.AfterFunc(55*time.Second, func() {
		abort.Store(true)
		if d, err := NewDoorbell(seg.Data()[ppPing:]); err == nil {
			d.Ring()
		}
	})
	if err := pingPong(seg.Data(), 1, rounds, neverTimeout, &abort); err != nil {
		fmt.Fprintln(os.Stderr, "child: lost wake-up:", err)
		return 2
	}
	return 0
}
