package bus

import "sync"

// maxCallbackBacklog bounds the error events waiting for the error handler;
// beyond it they are dropped (connection events never are).
const maxCallbackBacklog = 1024

// callbacks runs user callbacks one at a time, in order, on one goroutine,
// so that neither the dispatcher nor the watcher ever waits on user code.
type callbacks struct {
	mu     sync.Mutex
	cond   sync.Cond
	q      []func()
	closed bool
	done   chan struct{} // closed when run returns
}

func newCallbacks() *callbacks {
	cb := &callbacks{done: make(chan struct{})}
	cb.cond.L = &cb.mu
	go cb.run()
	return cb
}

// push queues f. A droppable f is refused when the backlog is full. Nothing
// is queued after close.
func (cb *callbacks) push(f func(), droppable bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.closed || (droppable && len(cb.q) >= maxCallbackBacklog) {
		return
	}
	cb.q = append(cb.q, f)
	cb.cond.Signal()
}

// close lets run finish what is queued, then return.
func (cb *callbacks) close() {
	cb.mu.Lock()
	cb.closed = true
	cb.cond.Signal()
	cb.mu.Unlock()
}

func (cb *callbacks) run() {
	defer close(cb.done)
	for {
		cb.mu.Lock()
		for len(cb.q) == 0 && !cb.closed {
			cb.cond.Wait()
		}
		if len(cb.q) == 0 {
			cb.mu.Unlock()
			return
		}
		f := cb.q[0]
		cb.q[0] = nil
		cb.q = cb.q[1:]
		cb.mu.Unlock()
		f()
	}
}
