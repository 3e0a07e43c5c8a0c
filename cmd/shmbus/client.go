package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/shmbus/shmbus/bus"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

// What the client commands (pub, sub, req, reply, demo) share.

// stdio is where a command reads and writes: the process's own in the
// binary, buffers in the tests.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// clientCmd is the body of a command that may be interrupted: ctx ends on
// SIGINT or SIGTERM.
type clientCmd func(ctx context.Context, args []string, sio stdio) error

// interruptible adapts a clientCmd to command.run: the process's stdio,
// and a context canceled by SIGINT or SIGTERM.
func interruptible(cmd clientCmd) func([]string) error {
	return func(args []string) error {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return cmd(ctx, args, stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	}
}

// clientFlags returns the FlagSet of a client command, writing its usage
// and errors to sio.err, with the -dir flag every client command has.
func clientFlags(name, argsUsage, doc string, sio stdio) (*flag.FlagSet, *string) {
	fs := newFlagSet(name, argsUsage, doc)
	fs.SetOutput(sio.err)
	return fs, fs.String("dir", ipc.DefaultDir, "bus directory (where the router's socket and segments live)")
}

// badUsage reports a usage mistake the FlagSet could not see: the reason,
// then where to find the usage. It returns errUsage (exit status 2).
func badUsage(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "shmbus %s: %s\nRun 'shmbus help %s' for usage.\n", fs.Name(), fmt.Sprintf(format, a...), fs.Name())
	return errUsage
}

// errNoRouter explains how to get a router when there is none.
func errNoRouter(dir string, err error) error {
	d := ""
	if dir != ipc.DefaultDir {
		d = " -dir " + dir
	}
	return fmt.Errorf("no router runs in %s; start one with `shmbusd%s`, or run `shmbus demo%s` (it embeds one): %w", dir, d, d, err)
}

// connect connects to the router of dir as name. It checks for the
// router's socket first, so that a missing router leaves nothing behind
// (Connect would create the directory for its segment).
func connect(dir, name string, opts ...bus.Option) (*bus.Conn, error) {
	if _, err := os.Stat(filepath.Join(dir, wire.SocketName)); err != nil {
		return nil, errNoRouter(dir, bus.ErrNoRouter)
	}
	nc, err := bus.Connect(append([]bus.Option{bus.WithDir(dir), bus.WithName(name)}, opts...)...)
	if errors.Is(err, bus.ErrNoRouter) {
		return nil, errNoRouter(dir, err)
	}
	return nc, err
}

// connEvents are connection options that report the router's comings and
// goings and asynchronous errors on w, for the long-running commands.
func connEvents(w io.Writer, cmd string) []bus.Option {
	return []bus.Option{
		bus.WithDisconnectHandler(func(_ *bus.Conn, err error) {
			fmt.Fprintf(w, "shmbus %s: router gone, reconnecting (%v)\n", cmd, err)
		}),
		bus.WithReconnectHandler(func(*bus.Conn) { fmt.Fprintf(w, "shmbus %s: reconnected\n", cmd) }),
		bus.WithErrorHandler(func(_ *bus.Conn, _ *bus.Subscription, err error) {
			fmt.Fprintf(w, "shmbus %s: %v\n", cmd, err)
		}),
	}
}

// headerFlag collects repeated -H key=value flags.
type headerFlag struct{ h bus.Header }

func (f *headerFlag) String() string {
	if f == nil || len(f.h) == 0 {
		return ""
	}
	var kv []string
	for _, k := range sortedKeys(f.h) {
		for _, v := range f.h[k] {
			kv = append(kv, k+"="+v)
		}
	}
	return strings.Join(kv, ",")
}

func (f *headerFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", s)
	}
	if f.h == nil {
		f.h = bus.Header{}
	}
	f.h.Add(k, v)
	return nil
}

// readData is DATA when given as the argument at index i, else everything
// on standard input.
func readData(fs *flag.FlagSet, i int, in io.Reader) ([]byte, error) {
	if fs.NArg() > i {
		return []byte(fs.Arg(i)), nil
	}
	if in == nil {
		return nil, nil
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("reading data from standard input: %w", err)
	}
	return b, nil
}

func sortedKeys(h bus.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeHeader prints headers one "Key: value" line each, keys sorted.
func writeHeader(w io.Writer, h bus.Header) {
	for _, k := range sortedKeys(h) {
		for _, v := range h[k] {
			fmt.Fprintf(w, "%s: %s\n", k, v)
		}
	}
}

// printable is data as text: itself when it is UTF-8, quoted otherwise.
func printable(data []byte) string {
	if utf8.Valid(data) {
		return string(data)
	}
	return strings.Trim(fmt.Sprintf("%+q", data), `"`)
}

// dur formats a latency with 3 significant digits: 850ns, 12.3µs, 1.25ms.
func dur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return sig3(float64(d)/1e3) + "µs"
	case d < time.Second:
		return sig3(float64(d)/1e6) + "ms"
	}
	return sig3(d.Seconds()) + "s"
}

// sig3 formats v (at least 1) with 3 significant digits, never in
// exponent form: 1.25, 12.3, 123, 1234.
func sig3(v float64) string {
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case v >= 9.995:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
