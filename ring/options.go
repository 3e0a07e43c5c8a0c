package ring

import (
	"fmt"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// Option configures a producer or consumer when it attaches.
type Option func(*options) error

type options struct {
	stuckTimeout time.Duration
	deferRelease bool
	alive        func(ipc.Process) bool
	self         ipc.Process
	bell         *ipc.Doorbell
}

func defaultOptions() options {
	return options{
		stuckTimeout: time.Second,
		alive:        ipc.IsAlive,
		self:         ipc.Self(),
	}
}

func applyOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, validIdentity(o.self)
}

// WithStuckTimeout sets how long an MPMC consumer waits on a claimed but
// uncommitted slot whose producer is still alive (or unknown) before it
// revokes the claim and skips the slot. A dead producer's claim is recovered
// at once, whatever this says. Default 1 s.
func WithStuckTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("%w: stuck timeout %v must be positive", ipc.ErrInvalidOption, d)
		}
		o.stuckTimeout = d
		return nil
	}
}

// WithLiveness replaces the check used to decide whether a recorded owner
// process is alive (default ipc.IsAlive). Tests use it to simulate death;
// a router can pass a check backed by its pidfd watchers.
func WithLiveness(alive func(ipc.Process) bool) Option {
	return func(o *options) error {
		if alive == nil {
			return fmt.Errorf("%w: nil liveness check", ipc.ErrInvalidOption)
		}
		o.alive = alive
		return nil
	}
}

// WithIdentity sets the process identity recorded as the owner (default the
// calling process). Tests use it to play several processes in one.
func WithIdentity(p ipc.Process) Option {
	return func(o *options) error {
		if err := validIdentity(p); err != nil {
			return err
		}
		o.self = p
		return nil
	}
}

// WithConsumerDoorbell makes an SPSC producer ring d after each publish
// instead of the ring's own consumer doorbell. One consumer serving many
// rings (the router) parks on one doorbell that all their producers ring.
func WithConsumerDoorbell(d *ipc.Doorbell) Option {
	return func(o *options) error {
		if d == nil {
			return fmt.Errorf("%w: nil doorbell", ipc.ErrInvalidOption)
		}
		o.bell = d
		return nil
	}
}

// WithDeferredRelease makes an SPSC consumer keep what it read in the ring
// until it calls Release, instead of handing the space back at the end of
// each Read. A consumer that forwards records elsewhere (the router) uses it
// to publish the copies first: if it dies before Release, its successor
// reads those records again rather than losing them.
func WithDeferredRelease() Option {
	return func(o *options) error {
		o.deferRelease = true
		return nil
	}
}
