package queue

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/shmbus/shmbus/internal/topic"
)

// Registry is the router's queues by name. Like Queue it belongs to the
// event loop and is not safe for concurrent use.
//
// Invariants: every queue in owned is in queues and private; a private
// queue's name starts with PrivatePrefix and no client can declare such a
// name.
type Registry struct {
	clock  Clock
	queues map[string]*Queue
	owned  map[uint64][]string // owner connection -> its private queues
	seq    uint64
}

// PrivatePrefix starts the generated names of private queues.
const PrivatePrefix = "_private."

// NewRegistry returns an empty registry whose queues use clock (nil:
// ipc.MonotonicNanos).
func NewRegistry(clock Clock) *Registry {
	return &Registry{clock: clock, queues: make(map[string]*Queue), owned: make(map[uint64][]string)}
}

// Declare creates the queue name with cfg, or returns the existing one
// when its Config is the same (idempotent); a different Config is an error
// wrapping ErrConfigConflict that names the first differing field.
//
// An empty name declares a private queue: the registry names it
// (PrivatePrefix + owner + "." + a sequence number) and records owner, the
// connection id; DropOwner(owner) deletes it. owner is ignored for a named
// queue, which outlives connections. A name must be a valid topic (dot
// separated tokens, no wildcards) and not start with PrivatePrefix.
func (r *Registry) Declare(name string, owner uint64, cfg Config) (*Queue, error) {
	if name == "" {
		r.seq++
		name = PrivatePrefix + strconv.FormatUint(owner, 10) + "." + strconv.FormatUint(r.seq, 10)
		if cfg.DeadLetter == name {
			return nil, fmt.Errorf("queue %q: dead-letter target is the queue itself: %w", name, ErrInvalidConfig)
		}
		q, err := New(name, cfg, r.clock)
		if err != nil {
			return nil, err
		}
		q.private, q.owner = true, owner
		r.queues[name] = q
		r.owned[owner] = append(r.owned[owner], name)
		return q, nil
	}
	if err := topic.ValidateTopic(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidName, err)
	}
	if len(name) >= len(PrivatePrefix) && name[:len(PrivatePrefix)] == PrivatePrefix {
		return nil, fmt.Errorf("%w: %q: the prefix %q is for private queues", ErrInvalidName, name, PrivatePrefix)
	}
	if q, ok := r.queues[name]; ok {
		if err := q.cfg.Compatible(&cfg); err != nil {
			return nil, fmt.Errorf("declare queue %q: %w", name, err)
		}
		return q, nil
	}
	if cfg.DeadLetter == name {
		return nil, fmt.Errorf("queue %q: dead-letter target is the queue itself: %w", name, ErrInvalidConfig)
	}
	q, err := New(name, cfg, r.clock)
	if err != nil {
		return nil, err
	}
	r.queues[name] = q
	return q, nil
}

// Get returns the queue name.
func (r *Registry) Get(name string) (*Queue, bool) {
	q, ok := r.queues[name]
	return q, ok
}

// Len is the number of queues.
func (r *Registry) Len() int { return len(r.queues) }

// Names returns the queue names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.queues))
	for n := range r.queues {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Delete removes the queue name and returns it (the router tells its
// consumers; its messages go with it), or ErrNotFound.
func (r *Registry) Delete(name string) (*Queue, error) {
	q, ok := r.queues[name]
	if !ok {
		return nil, fmt.Errorf("delete queue %q: %w", name, ErrNotFound)
	}
	delete(r.queues, name)
	if q.private {
		names := slices.DeleteFunc(r.owned[q.owner], func(n string) bool { return n == name })
		if len(names) == 0 {
			delete(r.owned, q.owner)
		} else {
			r.owned[q.owner] = names
		}
	}
	return q, nil
}

// DropOwner deletes the private queues of connection owner (it is gone)
// and returns them.
func (r *Registry) DropOwner(owner uint64) []*Queue {
	names := r.owned[owner]
	delete(r.owned, owner)
	qs := make([]*Queue, 0, len(names))
	for _, n := range names {
		qs = append(qs, r.queues[n])
		delete(r.queues, n)
	}
	return qs
}

// Owner is the owning connection of a private queue; ok is false for a
// named queue.
func (q *Queue) Owner() (owner uint64, ok bool) { return q.owner, q.private }

// Bind adds a topic pattern to the queue name's bindings (the router
// matches them; a message whose topic matches any binding goes into the
// queue). Binding a pattern twice is a no-op. The pattern is checked with
// topic.ValidatePattern.
func (r *Registry) Bind(name, pattern string) error {
	q, ok := r.queues[name]
	if !ok {
		return fmt.Errorf("bind %q to queue %q: %w", pattern, name, ErrNotFound)
	}
	if err := topic.ValidatePattern(pattern); err != nil {
		return fmt.Errorf("bind to queue %q: %w", name, err)
	}
	if !slices.Contains(q.bindings, pattern) {
		q.bindings = append(q.bindings, pattern)
	}
	return nil
}

// Unbind removes a pattern from the queue name's bindings: ErrNotFound
// when the queue or the binding does not exist.
func (r *Registry) Unbind(name, pattern string) error {
	q, ok := r.queues[name]
	if !ok {
		return fmt.Errorf("unbind %q from queue %q: %w", pattern, name, ErrNotFound)
	}
	i := slices.Index(q.bindings, pattern)
	if i < 0 {
		return fmt.Errorf("unbind %q from queue %q: binding %w", pattern, name, ErrNotFound)
	}
	q.bindings = slices.Delete(q.bindings, i, i+1)
	return nil
}

// Bindings is the queue's patterns in the order bound (shared: do not
// modify).
func (q *Queue) Bindings() []string { return q.bindings }
