package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// A crew is the children of one multi-process benchmark (a broker and its
// clients). They run unpinned: there are more processes than the two
// pinned CPUs, so the scheduler places them. They coordinate through files
// in a control directory (none of it is timed):
//
//	ready-<name>   a child is set up (subscribed, listening); its content is
//	               what the child has to tell (a server's URL)
//	mark           the timed part starts (servers count their futex calls
//	               and CPU time from here; the bus router says it has
//	               started counting with ready-marked)
//	go             publisher children (fan-in) start sending
//	end            the timed part is over (the router stops counting its
//	               CPU time; futex calls it counts to the stop)
//	stop           children that serve until told (brokers, idle
//	               connections) shut down once it exists
//
// Clients finish on their own after their N messages; finish waits for
// them first, then writes stop and waits for the servers, so no client
// loses its broker while it is still flushing.
type crew struct {
	dir     string
	timeout time.Duration
	clients []*child
	servers []*child
	// serverReps are the servers' reports, in start order, once finish
	// has returned (nil for a server that failed).
	serverReps []*childReport
}

// readyPoll is how often ready and stop files are looked for.
const readyPoll = time.Millisecond

func newCrew(dir string, timeout time.Duration) *crew {
	return &crew{dir: dir, timeout: timeout}
}

// start starts role with the control directory as a.Path. A server runs
// until stop; a client until it is done.
func (w *crew) start(role string, a childArgs, server bool) error {
	a.Path, a.Unpinned, a.Deadline = w.dir, true, deadlineFor(w.timeout)
	c, err := startChild(role, a)
	if err != nil {
		return err
	}
	if server {
		w.servers = append(w.servers, c)
	} else {
		w.clients = append(w.clients, c)
	}
	return nil
}

// await waits for the ready file name and returns its content. It fails
// early, with the child's own error, if a child exits first.
func (w *crew) await(name string, g *guard) (string, error) {
	path := filepath.Join(w.dir, "ready-"+name)
	for {
		if b, err := os.ReadFile(path); err == nil {
			return string(b), nil
		}
		if err := w.check(g); err != nil {
			return "", fmt.Errorf("bench: waiting for %s: %w", name, err)
		}
		time.Sleep(readyPoll)
	}
}

// check fails with a child's error once one has failed, or when g runs
// out. A server that exits before stop is a failure too.
func (w *crew) check(g *guard) error {
	for _, c := range w.servers {
		if c.exited.Load() {
			if _, err := c.finish(time.Second); err != nil {
				return err
			}
			return fmt.Errorf("bench: %s exited early: %w", c.role, ErrPeerExited)
		}
	}
	for _, c := range w.clients {
		if c.exited.Load() {
			if _, err := c.finish(time.Second); err != nil {
				return err
			}
		}
	}
	return g.check()
}

// finish waits for the clients, then tells the servers to stop and waits
// for them. It returns the clients' reports, in start order, and the sum
// of the futex calls of the children that asked for them to be counted
// (syscalls: the clients, and the servers on the message path).
func (w *crew) finish() (reps []*childReport, syscalls uint64, err error) {
	var errs []error
	for _, c := range w.clients {
		rep, err := c.finish(w.timeout)
		errs = append(errs, err)
		reps = append(reps, rep)
		if rep != nil {
			syscalls += rep.Waits + rep.Wakes
		}
	}
	errs = append(errs, writeReady(w.dir, "stop", ""))
	for _, c := range w.servers {
		rep, err := c.finish(w.timeout)
		errs = append(errs, err)
		w.serverReps = append(w.serverReps, rep)
		if rep != nil {
			syscalls += rep.Waits + rep.Wakes
		}
	}
	return reps, syscalls, errors.Join(errs...)
}

// kill stops every child still running (deferred; after finish it only
// reaps).
func (w *crew) kill() {
	for _, c := range w.clients {
		c.kill()
	}
	for _, c := range w.servers {
		c.kill()
	}
}

// mark tells the servers that the timed part starts.
func (w *crew) mark() error { return writeReady(w.dir, "mark", "") }

// markRouter is mark for a crew with a bus router: it returns once the
// router has started counting (ready-marked), so the timed part that
// follows is all inside the router's count.
func (w *crew) markRouter(g *guard) error {
	if err := w.mark(); err != nil {
		return err
	}
	_, err := w.await("marked", g)
	return err
}

// goAhead tells publisher children to start sending.
func (w *crew) goAhead() error { return writeReady(w.dir, "go", "") }

// end tells the servers that the timed part is over.
func (w *crew) end() error { return writeReady(w.dir, "end", "") }

// writeReady publishes a control file atomically (write, then rename).
// "stop", "mark", "go" and "end" are written as is; any other name
// becomes ready-<name>.
func writeReady(dir, name, content string) error {
	switch name {
	case "stop", "mark", "go", "end":
	default:
		name = "ready-" + name
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// waitStop blocks a server child until the stop file appears, bounded by
// g. onMark and onEnd, when not nil, are each called once, in that order,
// when the mark (end) file appears, or at the stop if it never came.
func waitStop(dir string, g *guard, onMark, onEnd func()) error {
	stop := filepath.Join(dir, "stop")
	calls := []struct {
		path string
		f    func()
	}{{filepath.Join(dir, "mark"), onMark}, {filepath.Join(dir, "end"), onEnd}}
	for {
		for i := range calls {
			if c := &calls[i]; c.f != nil && (i == 0 || calls[0].f == nil) {
				if _, err := os.Stat(c.path); err == nil {
					c.f()
					c.f = nil
				}
			}
		}
		if _, err := os.Stat(stop); err == nil {
			for _, c := range calls {
				if c.f != nil {
					c.f()
				}
			}
			return nil
		}
		if err := g.check(); err != nil {
			return err
		}
		time.Sleep(readyPoll)
	}
}

// waitGo blocks a publisher child until the go file appears, bounded by
// g.
func waitGo(dir string, g *guard) error {
	path := filepath.Join(dir, "go")
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		}
		if err := g.check(); err != nil {
			return err
		}
		time.Sleep(readyPoll)
	}
}

// waitDone waits for done to be closed (a client's last message seen),
// bounded by g, polling so the deadline is honoured.
func waitDone(done <-chan struct{}, g *guard) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-done:
			return nil
		case <-t.C:
			if err := g.check(); err != nil {
				return err
			}
		}
	}
}
