package ipc

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestParseStat(t *testing.T) {
	tail := " 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000 100\n"
	for _, tc := range []struct {
		line  string
		state byte
		start uint64
		ok    bool
	}{
		{"1234 (sleep) S" + tail, 'S', 987654, true},
		{"1234 (a b) c) Z" + tail, 'Z', 987654, true},
		{"1234 ()) (x) R" + tail, 'R', 987654, true},
		{"1234 (a\nb) S" + tail, 'S', 987654, true},
		{"1234 (x) S 1 2", 0, 0, false},
		{"garbage", 0, 0, false},
		{"1 (x) SS" + tail, 0, 0, false},
		{"1 (x) S 1 1 1 0 -1 4 1 0 0 0 0 0 0 0 20 0 1 0 notanumber 1", 0, 0, false},
		{"", 0, 0, false},
	} {
		state, start, err := parseStat([]byte(tc.line))
		if (err == nil) != tc.ok || state != tc.state || start != tc.start {
			t.Errorf("parseStat(%q) = %q, %d, %v", tc.line, state, start, err)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1234 (a b) c) Z 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1000"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _, _ = parseStat(b) })
}

func TestSelfAndIsAlive(t *testing.T) {
	self := Self()
	if self.PID != os.Getpid() || self.StartTime == 0 {
		t.Fatalf("Self() = %+v", self)
	}
	if st, err := ProcessStartTime(self.PID); err != nil || st != self.StartTime {
		t.Fatalf("ProcessStartTime = %d, %v", st, err)
	}
	if !IsAlive(self) {
		t.Error("IsAlive(Self()) = false")
	}
	// PID-reuse guard: right PID, wrong start time is another process.
	if IsAlive(Process{PID: self.PID, StartTime: self.StartTime + 1}) {
		t.Error("wrong start time counted as alive")
	}
	if IsAlive(Process{PID: 0}) || IsAlive(Process{PID: -5}) {
		t.Error("non-positive PID counted as alive")
	}
	// PID 1 is not ours: kill(1, 0) may say EPERM for non-root, still alive.
	if st, err := ProcessStartTime(1); err == nil && !IsAlive(Process{PID: 1, StartTime: st}) {
		t.Error("PID 1 not alive")
	}
	if _, err := ProcessStartTime(1 << 30); !errors.Is(err, ErrNoProcess) {
		t.Errorf("missing process: %v", err)
	}
}

// startChild runs a helper that blocks until killed or its stdin closes.
func startChild(t *testing.T) (*exec.Cmd, Process) {
	t.Helper()
	cmd := helperCmd(t, "sleep")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	st, err := ProcessStartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	return cmd, Process{PID: cmd.Process.Pid, StartTime: st}
}

func TestWatch(t *testing.T) {
	for _, mode := range []string{"pidfd", "poll"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "poll" {
				usePidfd = false
				t.Cleanup(func() { usePidfd = true })
			}
			cmd, p := startChild(t)
			w, err := Watch(p)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if (w.file != nil) != (mode == "pidfd") {
				t.Fatalf("mode %s, pidfd %v", mode, w.file != nil)
			}
			if !w.Alive() || !IsAlive(p) {
				t.Fatal("child not alive")
			}
			select {
			case <-w.Done():
				t.Fatal("Done before the child died")
			case <-time.After(20 * time.Millisecond):
			}
			// Kill by PID. The child stays a zombie (unreaped) until
			// Cleanup's Wait: a zombie must count as dead.
			if err := unix.Kill(cmd.Process.Pid, unix.SIGKILL); err != nil {
				t.Fatal(err)
			}
			select {
			case <-w.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("Done did not fire after SIGKILL")
			}
			if w.Alive() || IsAlive(p) {
				t.Error("dead child reported alive")
			}
			if err := w.Close(); err != nil {
				t.Error(err)
			}
			if err := w.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestWatchRecycledPID(t *testing.T) {
	for _, pidfd := range []bool{true, false} {
		usePidfd = pidfd
		// The right PID (a live process) with a start time that is not its
		// own: the process we meant is gone and the PID was reused.
		w, err := Watch(Process{PID: os.Getpid(), StartTime: Self().StartTime + 1})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-w.Done():
		default:
			t.Errorf("pidfd=%v: recycled PID not reported dead", pidfd)
		}
		if w.Alive() {
			t.Errorf("pidfd=%v: recycled PID alive", pidfd)
		}
		w.Close()
	}
	usePidfd = true
	if _, err := Watch(Process{PID: 0}); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Watch(PID 0): %v", err)
	}
}

func TestWatchCloseWhileAlive(t *testing.T) {
	_, p := startChild(t)
	w, err := Watch(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !w.Alive() {
		t.Error("Alive after Close: child still runs")
	}
	select {
	case <-w.Done():
		t.Error("Close closed Done")
	default:
	}
}
