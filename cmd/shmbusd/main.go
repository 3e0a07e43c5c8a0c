// Command shmbusd is the shmbus router daemon: it serves one bus directory
// until SIGINT or SIGTERM, then detaches its clients cleanly (their
// segments stay, so they reconnect to the next router with their backlog).
//
//	shmbusd [-dir /dev/shm/shmbus] [-idle backoff] [-high-water 0.8] [-block-timeout 1s] [-log-level info] [-group GID] [-http 127.0.0.1:9464] [-rules FILE]
//
// With -rules it applies the routing rules of FILE (router/rules: TOML) and
// reloads them on SIGHUP; a file that does not validate is refused with an
// error naming the rule and field, and the rules in force stay.
//
// With -http it also serves Prometheus metrics (/metrics), a health check
// (/healthz) and the Go profiler (/debug/pprof/) on that address; see
// docs/operations.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router"
	"github.com/shmbus/shmbus/router/metrics"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("shmbusd", flag.ContinueOnError)
	dir := fs.String("dir", ipc.DefaultDir, "bus directory (sockets, segments)")
	idle := fs.String("idle", "backoff", "event-loop idle strategy: spin, yield, backoff, block")
	hw := fs.Float64("high-water", 0.8, "ring fill (0..1] that raises an alert on $SYS.alert.ring")
	level := fs.String("log-level", "info", "debug, info, warn, error")
	group := fs.Int("group", 0, "gid allowed to use the bus (files 0660, directory 0750); 0 = owner only")
	stats := fs.Duration("stats-every", 100*time.Millisecond, "stats segment refresh interval")
	block := fs.Duration("block-timeout", time.Second, "how long a block-policy subscription without its own timeout holds a publisher")
	httpAddr := fs.String("http", "", "serve /metrics (Prometheus), /healthz and /debug/pprof/ on this host:port (off when empty)")
	rulesFile := fs.String("rules", "", "routing rules file (TOML, see router/rules); reloaded on SIGHUP")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(*level)); err != nil {
		fmt.Fprintf(os.Stderr, "shmbusd: -log-level %q: %v\n", *level, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	// Signals first: one that arrives while the router starts is kept.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sig)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer func() { signal.Stop(hup); close(hup) }() // ends the reload goroutine
	r, err := router.New(router.Config{Dir: *dir, Idle: *idle, HighWater: *hw, Logger: log, GroupAccess: *group, StatsEvery: *stats, BlockTimeout: *block, RulesFile: *rulesFile})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := r.Start(); err != nil {
		log.Error("cannot start", "err", err)
		r.Close()
		return 1
	}
	go func() {
		for range hup {
			if *rulesFile == "" {
				log.Info("SIGHUP: no -rules file to reload")
				continue
			}
			_ = r.LoadRules(*rulesFile) // logs the outcome; a bad file keeps the rules in force
		}
	}()
	var web *metrics.Server
	if *httpAddr != "" {
		if web, err = serveMetrics(*httpAddr, *dir, *stats, log); err != nil {
			log.Error("cannot start", "err", err)
			r.Close()
			return 1
		}
	}
	s := <-sig
	log.Info("shutting down", "signal", s.String())
	if web != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := web.Shutdown(ctx); err != nil {
			log.Error("shutdown", "err", err)
		}
	}
	if err := r.Close(); err != nil {
		log.Error("shutdown", "err", err)
		return 1
	}
	return 0
}

// serveMetrics starts the HTTP server of -http. The router counts as down
// once its stats snapshot is twenty refresh intervals old (2 s at least).
func serveMetrics(addr, dir string, statsEvery time.Duration, log *slog.Logger) (*metrics.Server, error) {
	if statsEvery <= 0 {
		statsEvery = 100 * time.Millisecond // the router's default
	}
	e, err := metrics.NewExporter(dir, metrics.WithLogger(log), metrics.WithStaleAfter(max(20*statsEvery, metrics.DefaultStaleAfter)))
	if err != nil {
		return nil, err
	}
	return metrics.Serve(addr, e)
}
