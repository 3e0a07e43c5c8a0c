// Command shmbus is the shmbus command-line tool.
//
//	shmbus <command> [flags] [args]
//	shmbus help [command]
//
// Each command lives in its own file (cmd_<name>.go) and registers itself
// in an init function; main only dispatches.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/shmbus/shmbus/bench"
)

// command is one subcommand. run parses its own flags (a fresh FlagSet named
// after the command, flag.ContinueOnError) and does the work.
type command struct {
	name    string
	summary string // one line for `shmbus help`
	run     func(args []string) error
}

var commands = map[string]*command{}

// register adds a subcommand; called from the init of each cmd_*.go.
func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("shmbus: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error already explained to the user: exit status 2.
var errUsage = errors.New("usage")

func main() {
	bench.MaybeRunChild() // benchmark children re-execute this binary
	MaybeRunDemoChild()   // and so do the demo's
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(os.Stdout)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "shmbus: unknown command %q\n\n", name)
		usage(stderr)
		return 2
	}
	switch err := c.run(rest); {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintf(stderr, "shmbus %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "shmbus: shared-memory message bus for one Linux host")
	fmt.Fprintln(w, "\nusage: shmbus <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'shmbus help <command>' for a command's flags.")
}

// newFlagSet returns a FlagSet for a subcommand whose usage names it.
func newFlagSet(name, argsUsage, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "usage: shmbus %s [flags] %s\n\n%s\n\nflags:\n", name, argsUsage, doc)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, turning a bad flag into errUsage (the FlagSet has
// already printed why).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
