package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "queue",
		summary: "declare, list, inspect, purge, bind and delete queues",
		run:     interruptible(runQueue),
	})
}

const queueDoc = `Manages the router's queues:

  shmbus queue add [flags] NAME        declare a queue (flags: its config)
  shmbus queue rm NAME...              delete queues and their messages
  shmbus queue ls [-json]              list the queues
  shmbus queue info [-json] NAME       a queue's config, state and counters
  shmbus queue purge NAME              remove the ready messages
  shmbus queue bind NAME PATTERN       take what is published to PATTERN too
  shmbus queue unbind NAME PATTERN     undo a bind

Run 'shmbus queue <subcommand> -h' for a subcommand's flags.

  shmbus queue add -max-msgs 10000 -overflow drop-oldest -dead-letter queue:jobs.dead jobs
  shmbus queue bind jobs 'resize.>'
  shmbus queue ls`

// queueSub is one `shmbus queue` subcommand.
type queueSub struct {
	args string // usage after the flags
	doc  string
	run  func(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error
}

var queueSubs = map[string]queueSub{
	"add":    {"NAME", "Declares the queue NAME; declaring it again with the same config does nothing,\nwith another config fails. Zero values take the router's defaults.", queueAdd},
	"rm":     {"NAME...", "Deletes the queues, with their messages; their consumers end.", queueRm},
	"ls":     {"", "Lists the queues: depth, state and counters.", queueLs},
	"info":   {"NAME", "Shows a queue's config (defaults filled in), state and counters.", queueInfo},
	"purge":  {"NAME", "Removes the queue's ready and delayed messages (not those in flight).", queuePurge},
	"bind":   {"NAME PATTERN", "Binds PATTERN to the queue: what is published to matching topics is queued too.", queueBind},
	"unbind": {"NAME PATTERN", "Removes a binding.", queueBind},
}

func runQueue(ctx context.Context, args []string, sio stdio) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintf(sio.err, "usage: shmbus queue <subcommand> [flags] [args]\n\n%s\n", queueDoc)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	sub, ok := queueSubs[args[0]]
	if !ok {
		names := make([]string, 0, len(queueSubs))
		for n := range queueSubs {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(sio.err, "shmbus queue: unknown subcommand %q: want one of %s\n", args[0], strings.Join(names, ", "))
		return errUsage
	}
	fs, dir := clientFlags("queue "+args[0], sub.args, sub.doc, sio)
	return sub.run(ctx, fs, dir, args[1:], sio)
}

// queueConn connects for one queue request.
func queueConn(dir string) (*bus.Conn, error) { return connect(dir, "shmbus queue") }

// configFlags are the flags of `queue add`.
type configFlags struct {
	maxMsgs, maxDeliveries, agingLimit *int
	maxBytes                           *string
	overflow, starvation, durability   *string
	deadLetter, alertLevels            *string
	ttl, ackTimeout, blockTimeout      *time.Duration
	hysteresis                         *uint
}

func addConfigFlags(fs *flag.FlagSet) *configFlags {
	return &configFlags{
		maxMsgs:       fs.Int("max-msgs", 0, "most messages held (0: the router's default, 100000)"),
		maxBytes:      fs.String("max-bytes", "", "most payload bytes held, with an optional KiB, MiB or GiB suffix (0: 64MiB)"),
		overflow:      fs.String("overflow", "reject", "when full: reject, drop-oldest or block"),
		blockTimeout:  fs.Duration("block-timeout", 0, "overflow block: how long a sender is held (0: the router's default)"),
		ttl:           fs.Duration("ttl", 0, "longest time a message stays (0: no limit)"),
		maxDeliveries: fs.Int("max-deliveries", 0, "dead-letter a message after this many deliveries (0: unlimited)"),
		ackTimeout:    fs.Duration("ack-timeout", 0, "an unsettled delivery comes back after this (0: 30s; negative: never)"),
		deadLetter:    fs.String("dead-letter", "", "where dead letters go: queue:NAME or topic:NAME (empty: discarded)"),
		starvation:    fs.String("starvation", "strict", "how priorities share deliveries: strict or aging"),
		agingLimit:    fs.Int("aging-limit", 0, "starvation aging: higher-priority deliveries in a row before a lower one (0: 16)"),
		alertLevels:   fs.String("alert-levels", "", "fill percentages raising an alert, e.g. 50,80,100 (empty: 80,100; none: no alerts)"),
		hysteresis:    fs.Uint("alert-hysteresis", 0, "points below a level that clear its alert (0: 10)"),
		durability:    fs.String("durability", "none", "journal policy: none, batch or sync"),
	}
}

// config turns the flags into a QueueConfig; a mistake is a usage error.
func (f *configFlags) config(fs *flag.FlagSet) (bus.QueueConfig, error) {
	cfg := bus.QueueConfig{
		MaxMsgs:       *f.maxMsgs,
		BlockTimeout:  *f.blockTimeout,
		DefaultTTL:    *f.ttl,
		MaxDeliveries: *f.maxDeliveries,
		AckTimeout:    *f.ackTimeout,
		DeadLetter:    *f.deadLetter,
		AgingLimit:    *f.agingLimit,
	}
	var err error
	if cfg.MaxBytes, err = parseBytes(*f.maxBytes); err != nil {
		return cfg, badUsage(fs, "-max-bytes %q: %v", *f.maxBytes, err)
	}
	if cfg.Overflow, err = bus.ParseOverflow(*f.overflow); err != nil {
		return cfg, badUsage(fs, "-overflow: %v", err)
	}
	if cfg.Starvation, err = bus.ParseStarvation(*f.starvation); err != nil {
		return cfg, badUsage(fs, "-starvation: %v", err)
	}
	if cfg.Durability, err = bus.ParseDurability(*f.durability); err != nil {
		return cfg, badUsage(fs, "-durability: %v", err)
	}
	if *f.hysteresis > 100 {
		return cfg, badUsage(fs, "-alert-hysteresis %d: want 0 to 100", *f.hysteresis)
	}
	cfg.AlertHysteresis = uint8(*f.hysteresis)
	switch levels := strings.TrimSpace(*f.alertLevels); levels {
	case "":
	case "none":
		cfg.NoAlerts = true
	default:
		for _, s := range strings.Split(levels, ",") {
			l, err := strconv.ParseUint(strings.TrimSpace(s), 10, 8)
			if err != nil || l < 1 || l > 100 {
				return cfg, badUsage(fs, "-alert-levels %q: want percentages from 1 to 100, comma-separated, or none", levels)
			}
			cfg.AlertLevels = append(cfg.AlertLevels, uint8(l))
		}
	}
	return cfg, nil
}

// parseBytes parses a byte count with an optional B, KiB, MiB or GiB
// suffix (K, M and G too, also binary).
func parseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("want a byte count such as 1048576 or 64MiB")
	}
	return n * mult, nil
}

func queueAdd(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	cf := addConfigFlags(fs)
	asJSON := fs.Bool("json", false, "print the declared queue as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return badUsage(fs, "want one NAME, got %d arguments", fs.NArg())
	}
	name := fs.Arg(0)
	if err := bus.ValidateTopic(name); err != nil {
		return badUsage(fs, "queue name %q: %v", name, err)
	}
	cfg, err := cf.config(fs)
	if err != nil {
		return err
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	info, err := nc.DeclareQueueWithContext(ctx, name, cfg)
	if errors.Is(err, bus.ErrQueueConflict) {
		return fmt.Errorf("%w (see `shmbus queue info %s`; `shmbus queue rm %s` first to change it)", err, name, name)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(sio.out, info)
	}
	fmt.Fprintf(sio.err, "queue %q declared\n", info.Name)
	writeInfo(sio.out, info)
	return nil
}

func queueRm(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return badUsage(fs, "want at least one NAME")
	}
	for _, name := range fs.Args() {
		if err := bus.ValidateTopic(name); err != nil {
			return badUsage(fs, "queue name %q: %v", name, err)
		}
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	for _, name := range fs.Args() {
		if err := nc.DeleteQueueWithContext(ctx, name); err != nil {
			return err
		}
		fmt.Fprintf(sio.err, "queue %q deleted\n", name)
	}
	return nil
}

func queueLs(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	asJSON := fs.Bool("json", false, "print the queues as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return badUsage(fs, "takes no arguments, got %d", fs.NArg())
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	qs, err := nc.QueuesWithContext(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(sio.out, qs)
	}
	if len(qs) == 0 {
		fmt.Fprintln(sio.err, "no queues")
		return nil
	}
	w := tabwriter.NewWriter(sio.out, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "name\tdepth\tready\tin flight\tdelayed\tfill\talert\tconsumers\tenqueued\tacked\tdead\texpired\tbindings\t")
	for _, q := range qs {
		name := q.Name
		if q.Private {
			name += " (private)"
		}
		alert := "-"
		if q.Alert > 0 {
			alert = fmt.Sprintf("%d%%", q.Alert)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\t%d%%\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t\n", name, q.Depth, q.Ready, q.InFlight, q.Delayed,
			q.Fill, alert, q.Consumers, q.Enqueued, q.Acked, q.DeadLettered, q.Expired, strings.Join(q.Bindings, " "))
	}
	return w.Flush()
}

func queueInfo(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	asJSON := fs.Bool("json", false, "print the queue as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return badUsage(fs, "want one NAME, got %d arguments", fs.NArg())
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	info, err := nc.QueueInfoWithContext(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(sio.out, info)
	}
	writeInfo(sio.out, info)
	return nil
}

func queuePurge(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return badUsage(fs, "want one NAME, got %d arguments", fs.NArg())
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	n, err := nc.PurgeQueueWithContext(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintf(sio.err, "purged %d message(s) from queue %q\n", n, fs.Arg(0))
	return nil
}

// queueBind is bind and unbind.
func queueBind(ctx context.Context, fs *flag.FlagSet, dir *string, args []string, sio stdio) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return badUsage(fs, "want NAME PATTERN, got %d arguments", fs.NArg())
	}
	name, pattern := fs.Arg(0), fs.Arg(1)
	if err := bus.ValidatePattern(pattern); err != nil {
		return badUsage(fs, "pattern %q: %v", pattern, err)
	}
	nc, err := queueConn(*dir)
	if err != nil {
		return err
	}
	defer nc.Close()
	if fs.Name() == "queue bind" {
		err = nc.BindQueueWithContext(ctx, name, pattern)
	} else {
		err = nc.UnbindQueueWithContext(ctx, name, pattern)
	}
	if err != nil {
		return err
	}
	verb := map[string]string{"queue bind": "bound to", "queue unbind": "unbound from"}[fs.Name()]
	fmt.Fprintf(sio.err, "%q %s queue %q\n", pattern, verb, name)
	return nil
}

// writeInfo prints a queue's info, one "key: value" line each.
func writeInfo(w io.Writer, q *bus.QueueInfo) {
	c := q.Config
	tw := tabwriter.NewWriter(w, 2, 4, 1, ' ', 0)
	line := func(k string, format string, a ...any) { fmt.Fprintf(tw, "%s:\t%s\n", k, fmt.Sprintf(format, a...)) }
	line("name", "%s", q.Name)
	if q.Private {
		line("private", "yes (deleted with its connection)")
	}
	line("config", "max %d messages, %s; overflow %s", c.MaxMsgs, byteSize(c.MaxBytes), c.Overflow)
	if c.Overflow == bus.OverflowBlock {
		line("block timeout", "%v", c.BlockTimeout)
	}
	line("ttl", "%s", orNone(c.DefaultTTL > 0, c.DefaultTTL.String()))
	line("ack timeout", "%s", orNone(c.AckTimeout > 0, c.AckTimeout.String()))
	line("max deliveries", "%s", orNone(c.MaxDeliveries > 0, strconv.Itoa(c.MaxDeliveries)))
	line("dead letter", "%s", orNone(c.DeadLetter != "", c.DeadLetter))
	starv := c.Starvation.String()
	if c.Starvation == bus.StarvationAging {
		starv += fmt.Sprintf(" (limit %d)", c.AgingLimit)
	}
	line("starvation", "%s", starv)
	alerts := "none"
	if !c.NoAlerts && len(c.AlertLevels) > 0 {
		var ls []string
		for _, l := range c.AlertLevels {
			ls = append(ls, fmt.Sprintf("%d%%", l))
		}
		alerts = fmt.Sprintf("%s (hysteresis %d points)", strings.Join(ls, ", "), c.AlertHysteresis)
	}
	line("alerts", "%s", alerts)
	line("durability", "%s", c.Durability)
	line("bindings", "%s", orNone(len(q.Bindings) > 0, strings.Join(q.Bindings, " ")))
	line("consumers", "%d", q.Consumers)
	line("depth", "%d messages, %s: %d ready, %d in flight, %d delayed", q.Depth, byteSize(q.Bytes), q.Ready, q.InFlight, q.Delayed)
	line("fill", "%d%%, alert %s", q.Fill, orNone(q.Alert > 0, fmt.Sprintf("%d%%", q.Alert)))
	line("enqueued", "%d (rejected %d, blocked %d, dropped %d)", q.Enqueued, q.Rejected, q.Blocked, q.Dropped)
	line("delivered", "%d (redelivered %d)", q.Delivered, q.Redelivered)
	line("settled", "acked %d, naked %d, termed %d", q.Acked, q.Naked, q.Termed)
	line("expired", "%d", q.Expired)
	line("dead-lettered", "%d", q.DeadLettered)
	tw.Flush()
}

func orNone(ok bool, s string) string {
	if ok {
		return s
	}
	return "none"
}

// byteSize formats a byte count: 512 B, 1.5 KiB, 64 MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<10)), ".0") + " KiB"
	case n < 1<<30:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MiB"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<30)), ".0") + " GiB"
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}
