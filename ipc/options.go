package ipc

import (
	"fmt"
	"log/slog"
)

// DefaultDir is where segments live unless WithDir says otherwise. It is on
// tmpfs, so segments are memory, not disk, and vanish at reboot.
const DefaultDir = "/dev/shm/shmbus"

// Option configures Create and Open. Options are validated when applied; a
// bad one makes Create or Open fail with an error wrapping ErrInvalidOption.
type Option func(*config) error

// config is the result of applying options to the defaults.
type config struct {
	dir      string
	gid      int // -1: no group access
	prefault bool
	logger   *slog.Logger
	param    [ParamSize]byte
}

func newConfig(opts []Option) (config, error) {
	c := config{dir: DefaultDir, gid: -1, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("shmbus: nil option: %w", ErrInvalidOption)
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithDir sets the directory holding segment files (default DefaultDir).
func WithDir(dir string) Option {
	return func(c *config) error {
		if dir == "" {
			return fmt.Errorf("shmbus: WithDir: empty directory: %w", ErrInvalidOption)
		}
		c.dir = dir
		return nil
	}
}

// WithGroup gives the group gid access: Create makes the directory 0750 and
// the file 0660 and chowns both to gid. Group members need write access to
// the file because even consumers write shared words (doorbell waiter
// counts, read positions). Ignored by Open.
func WithGroup(gid int) Option {
	return func(c *config) error {
		if gid < 0 {
			return fmt.Errorf("shmbus: WithGroup(%d): negative gid: %w", gid, ErrInvalidOption)
		}
		c.gid = gid
		return nil
	}
}

// WithPrefault makes Create and Open fault in every page of the mapping up
// front (like Chronicle's pretouch), so the first messages do not pay for
// page faults. On Create it also allocates the tmpfs pages.
func WithPrefault(on bool) Option {
	return func(c *config) error {
		c.prefault = on
		return nil
	}
}

// WithLogger sets the logger for lifecycle events (create, open, close,
// remove) at debug level. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return fmt.Errorf("shmbus: WithLogger(nil): %w", ErrInvalidOption)
		}
		c.logger = l
		return nil
	}
}

// WithParam stores up to ParamSize app-defined bytes in the header at Create
// (for example a ring's capacity and slot size); read them back with
// Segment.Header().Param. Ignored by Open.
func WithParam(p []byte) Option {
	return func(c *config) error {
		if len(p) > ParamSize {
			return fmt.Errorf("shmbus: WithParam: %d bytes, at most %d: %w", len(p), ParamSize, ErrInvalidOption)
		}
		c.param = [ParamSize]byte{}
		copy(c.param[:], p)
		return nil
	}
}
