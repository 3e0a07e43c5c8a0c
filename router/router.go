package router

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/internal/conn"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router/rules"
)

// Router is one broker: a control socket, an event loop, and the clients.
type Router struct {
	cfg  Config
	lock *os.File
	rseg *conn.RouterSegment
	ln   *net.UnixListener

	mu       sync.Mutex
	events   []event     // control -> loop, guarded by mu
	eventsIn atomic.Bool // events is non-empty (the loop's cheap check)
	conns    map[*net.UnixConn]struct{}
	nextID   uint64 // guarded by mu
	inUse    map[uint64]bool
	ids      idReservation // guarded by mu

	rules    atomic.Pointer[rules.Engine] // routing rules in force; nil: none (routing.go)
	stopping atomic.Bool
	quit     chan struct{} // closed by Close
	wg       sync.WaitGroup
	loop     *loop
	started  bool
	closed   bool
}

// New validates cfg, takes the bus directory's lock (only one router per
// directory; the kernel drops a dead router's lock, so a stale one is
// simply taken over) and opens the router segment. Start begins serving.
func New(cfg Config) (*Router, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	perm := os.FileMode(0o700)
	if cfg.GroupAccess > 0 {
		perm = 0o750
	}
	if err := os.MkdirAll(cfg.Dir, perm); err != nil {
		return nil, fmt.Errorf("bus directory %q: %w", cfg.Dir, err)
	}
	lock, err := takeLock(filepath.Join(cfg.Dir, wire.LockName))
	if err != nil {
		return nil, err
	}
	rseg, err := conn.OpenRouter(wire.RouterName, true, cfg.ipcOpts()...)
	if err != nil {
		lock.Close()
		return nil, err
	}
	rseg.SetIdentity(ipc.Self())
	r := &Router{cfg: cfg, lock: lock, rseg: rseg, conns: map[*net.UnixConn]struct{}{}, inUse: map[uint64]bool{}, quit: make(chan struct{})}
	r.openIDs()
	r.loop = newLoop(r)
	if cfg.Rules != nil {
		r.rules.Store(cfg.Rules)
	}
	if cfg.RulesFile != "" {
		if err := r.LoadRules(cfg.RulesFile); err != nil {
			rseg.Close()
			r.closeIDs()
			lock.Close()
			return nil, err
		}
	}
	return r, nil
}

// takeLock locks path with flock. The lock file holds the holder's PID for
// people; the flock itself is the truth.
func takeLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %q held by pid %s: %w", path, string(holder), ErrRouterRunning)
		}
		return nil, fmt.Errorf("lock %q: %w", path, err)
	}
	f.Truncate(0)
	f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return f, nil
}

// Start opens the control socket and starts the event loop.
func (r *Router) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.started {
		return nil
	}
	path := filepath.Join(r.cfg.Dir, wire.SocketName)
	os.Remove(path) // a dead router's socket; we hold the lock
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return fmt.Errorf("control socket %q: %w", path, err)
	}
	mode := os.FileMode(0o600)
	if r.cfg.GroupAccess > 0 {
		mode = 0o660
		os.Chown(path, -1, r.cfg.GroupAccess)
	}
	os.Chmod(path, mode)
	r.ln = ln
	r.started = true
	r.wg.Add(2)
	go func() { defer r.wg.Done(); r.accept() }()
	go func() { defer r.wg.Done(); r.loop.run() }()
	r.cfg.Logger.Info("router started", "dir", r.cfg.Dir, "pid", os.Getpid(), "idle", r.cfg.Idle)
	return nil
}

// Close stops accepting, stops the loop, detaches every client (their
// segments stay: a client reconnects to the next router with them) and
// releases the lock.
func (r *Router) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.stopping.Store(true)
	close(r.quit)
	if r.ln != nil {
		r.ln.Close()
	}
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.rseg.Bell.Ring()
	r.wakeLoop()
	r.wg.Wait()
	r.loop.shutdown()
	err := r.rseg.Close()
	os.Remove(filepath.Join(r.cfg.Dir, wire.SocketName))
	r.closeIDs()
	r.lock.Close()
	r.cfg.Logger.Info("router stopped", "dir", r.cfg.Dir)
	return err
}

// Dir is the bus directory.
func (r *Router) Dir() string { return r.cfg.Dir }

// post hands an event to the loop and wakes it.
func (r *Router) post(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.eventsIn.Store(true)
	r.mu.Unlock()
	r.wakeLoop()
}

// wakeLoop rings the router doorbell; waiters==0 makes it one load.
func (r *Router) wakeLoop() { r.rseg.Bell.Ring() }

// takeEvents drains the event queue (loop side).
func (r *Router) takeEvents(buf []event) []event {
	r.mu.Lock()
	buf = append(buf[:0], r.events...)
	clear(r.events)
	r.events = r.events[:0]
	r.eventsIn.Store(false)
	r.mu.Unlock()
	return buf
}
