package ipc

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// usePidfd is switched off by tests to exercise the polling fallback used
// on kernels without pidfd_open (before 5.3) or where it is filtered.
var usePidfd = true

// pollInterval is how often the fallback re-checks IsAlive.
var pollInterval = 5 * time.Millisecond

// Watcher reports the death of one process. With a pidfd (Linux 5.3+) the
// kernel tells us: the pidfd becomes readable when the process exits, and
// Go's netpoller waits for that without tying up a thread. Without one it
// polls IsAlive every few milliseconds.
type Watcher struct {
	p    Process
	done chan struct{}
	once sync.Once
	dead atomic.Bool

	file *os.File        // non-blocking pidfd; nil in fallback mode
	rc   syscall.RawConn // file's raw access, for Alive
	stop chan struct{}   // closed by Close
	wg   sync.WaitGroup  // the waiting goroutine

	closeOnce sync.Once
}

// Watch starts watching p. If p is already dead (including a PID now used
// by another process: its start time differs from p.StartTime) the
// Watcher's Done is closed at once. Close the Watcher when done with it.
func Watch(p Process) (*Watcher, error) {
	if p.PID <= 0 {
		return nil, fmt.Errorf("shmbus: watch process %d: invalid pid: %w", p.PID, ErrNoProcess)
	}
	w := &Watcher{p: p, done: make(chan struct{}), stop: make(chan struct{})}
	if usePidfd {
		fd, err := unix.PidfdOpen(p.PID, unix.PIDFD_NONBLOCK)
		switch {
		case err == nil:
			// The pidfd refers to whoever had the PID when it was opened.
			// p started before Watch was called, so if the PID still
			// carries p's start time now, it did then too and the pidfd
			// is p's. If not, p is gone and the PID was recycled.
			if _, start, err := readStat(p.PID); err != nil || start != p.StartTime {
				unix.Close(fd)
				w.markDead()
				return w, nil
			}
			return w, w.startPidfd(fd)
		case errors.Is(err, unix.ESRCH):
			w.markDead()
			return w, nil
		case !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM):
			return nil, fmt.Errorf("shmbus: watch process %d: pidfd_open: %w", p.PID, err)
		}
		// ENOSYS: old kernel; EPERM: seccomp filter. Poll instead.
	}
	if !IsAlive(p) {
		w.markDead()
		return w, nil
	}
	w.wg.Add(1)
	go w.pollLoop()
	return w, nil
}

// startPidfd registers the pidfd with the netpoller and starts the
// goroutine that waits for it to become readable.
func (w *Watcher) startPidfd(fd int) error {
	w.file = os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", w.p.PID))
	rc, err := w.file.SyscallConn()
	if err != nil {
		w.file.Close()
		return fmt.Errorf("shmbus: watch process %d: %w", w.p.PID, err)
	}
	w.rc = rc
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		// Read calls the func, and while it returns false parks in the
		// netpoller until the fd is readable. It fails only when Close
		// closes the file, which is not a death.
		if err := rc.Read(func(fd uintptr) bool { return pidfdExited(int(fd)) }); err == nil {
			w.markDead()
		}
	}()
	return nil
}

// pidfdExited polls the pidfd without blocking: readable means exited
// (a zombie counts).
func pidfdExited(fd int) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0 && fds[0].Revents&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0
	}
}

func (w *Watcher) pollLoop() {
	defer w.wg.Done()
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if !IsAlive(w.p) {
				w.markDead()
				return
			}
		}
	}
}

func (w *Watcher) markDead() {
	w.dead.Store(true)
	w.once.Do(func() { close(w.done) })
}

// Process returns the watched process.
func (w *Watcher) Process() Process { return w.p }

// Alive reports, without blocking, whether the process still runs: one
// poll(2) on the pidfd, or IsAlive in fallback mode or after Close.
func (w *Watcher) Alive() bool {
	if w.dead.Load() {
		return false
	}
	exited := false
	if w.rc == nil || w.rc.Control(func(fd uintptr) { exited = pidfdExited(int(fd)) }) != nil {
		exited = !IsAlive(w.p) // no pidfd, or Close closed it
	}
	if exited {
		w.markDead()
	}
	return !exited
}

// Done returns a channel closed soon (milliseconds) after the process dies.
// After Close it may never be closed.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Close stops watching and releases the pidfd. It is idempotent.
func (w *Watcher) Close() error {
	var err error
	w.closeOnce.Do(func() {
		close(w.stop)
		if w.file != nil {
			err = w.file.Close() // wakes the goroutine parked in rc.Read
		}
		w.wg.Wait()
	})
	return err
}
