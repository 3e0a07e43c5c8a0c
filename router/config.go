package router

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router/rules"
)

// Sentinel errors.
var (
	ErrRouterRunning = errors.New("shmbus: a router already runs on this bus directory")
	ErrInvalidConfig = errors.New("shmbus: invalid router config")
	ErrClosed        = errors.New("shmbus: router closed")
)

// Config configures a Router. Zero fields take the defaults noted.
type Config struct {
	Dir          string        // bus directory; default ipc.DefaultDir
	Idle         string        // idle strategy of the event loop: spin, yield, backoff (default), block
	HighWater    float64       // ring fill (0..1] that raises an alert; default 0.8
	StatsEvery   time.Duration // how often the stats segment is refreshed; default 100 ms
	MaxClients   int           // default 1024
	Logger       *slog.Logger  // default slog.Default()
	GroupAccess  int           // if > 0, the gid that may use the bus (files 0660, dir 0750)
	StuckTimeout time.Duration // handshake timeout; default 5 s
	// BlockTimeout is how long a Block-policy subscription that names no
	// timeout of its own holds its publisher; default DefaultBlockTimeout.
	BlockTimeout time.Duration
	// RulesFile is a routing rules file (router/rules) loaded at New; an
	// invalid file fails New. Rules is an already built rule set instead.
	// Router.LoadRules reloads (shmbusd does on SIGHUP).
	RulesFile string
	Rules     *rules.Engine
}

// DefaultBlockTimeout is Config.BlockTimeout's default.
const DefaultBlockTimeout = time.Second

func (c *Config) fill() error {
	if c.Dir == "" {
		c.Dir = ipc.DefaultDir
	}
	if c.Idle == "" {
		c.Idle = "backoff"
	}
	if _, err := ipc.NewIdleStrategy(c.Idle); err != nil {
		return fmt.Errorf("idle strategy %q: %w", c.Idle, errors.Join(ErrInvalidConfig, err))
	}
	if c.HighWater == 0 {
		c.HighWater = 0.8
	}
	if c.HighWater < 0 || c.HighWater > 1 {
		return fmt.Errorf("high water %v outside (0, 1]: %w", c.HighWater, ErrInvalidConfig)
	}
	if c.StatsEvery == 0 {
		c.StatsEvery = 100 * time.Millisecond
	}
	if c.StatsEvery < 0 {
		return fmt.Errorf("stats interval %v: %w", c.StatsEvery, ErrInvalidConfig)
	}
	if c.MaxClients == 0 {
		c.MaxClients = 1024
	}
	if c.MaxClients < 0 {
		return fmt.Errorf("max clients %d: %w", c.MaxClients, ErrInvalidConfig)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.StuckTimeout == 0 {
		c.StuckTimeout = 5 * time.Second
	}
	if c.BlockTimeout == 0 {
		c.BlockTimeout = DefaultBlockTimeout
	}
	if c.BlockTimeout < 0 {
		return fmt.Errorf("block timeout %v: %w", c.BlockTimeout, ErrInvalidConfig)
	}
	return nil
}

func (c *Config) ipcOpts() []ipc.Option {
	opts := []ipc.Option{ipc.WithDir(c.Dir), ipc.WithLogger(c.Logger)}
	if c.GroupAccess > 0 {
		opts = append(opts, ipc.WithGroup(c.GroupAccess))
	}
	return opts
}
