package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "sub",
		summary: "print the messages published to a topic pattern",
		run:     interruptible(runSub),
	})
}

const subDoc = `Subscribes to PATTERN ('*' matches one token, '>' the rest) and prints each
message: its number, topic, reply topic, size and latency (the time from its
publication to its arrival here, by the CLOCK_MONOTONIC clock every process
on the host shares), then its headers and data. It exits after -n messages,
or on SIGINT.

  shmbus sub 'orders.>'
  shmbus sub -queue workers -n 1 jobs.resize
  shmbus sub -raw clock.tick`

// received is a message copied out of the handler, with its latency taken
// on arrival.
type received struct {
	m   *bus.Msg
	lat time.Duration
}

func runSub(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("sub", "PATTERN", subDoc, sio)
	queue := fs.String("queue", "", "join this queue group: each message goes to one member")
	n := fs.Int("n", 0, "exit after this many messages (0: until interrupted)")
	raw := fs.Bool("raw", false, "print only each message's data, one per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return badUsage(fs, "want one PATTERN, got %d arguments", fs.NArg())
	case *n < 0:
		return badUsage(fs, "-n %d: want 0 or more", *n)
	}
	pattern := fs.Arg(0)
	if err := bus.ValidatePattern(pattern); err != nil {
		return badUsage(fs, "pattern %q: %v", pattern, err)
	}
	if *queue != "" {
		if err := bus.ValidateTopic(*queue); err != nil {
			return badUsage(fs, "-queue %q: %v", *queue, err)
		}
	}
	nc, err := connect(*dir, "shmbus sub", connEvents(sio.err, "sub")...)
	if err != nil {
		return err
	}
	defer nc.Close()

	// The handler runs on the connection's dispatcher: it takes the latency
	// at once and hands an owned copy over. A full channel holds the
	// dispatcher back (the router then drops for this slow consumer, and
	// says so to the error handler) until the printer catches up.
	ch := make(chan received, 1024)
	done := make(chan struct{})
	defer close(done) // before nc.Close: frees a handler blocked on ch
	handler := func(m *bus.Msg) {
		lat := m.Latency()
		select {
		case ch <- received{m.Copy(), lat}:
		case <-done:
		}
	}
	var sub *bus.Subscription
	if *queue != "" {
		sub, err = nc.QueueSubscribe(pattern, *queue, handler)
	} else {
		sub, err = nc.Subscribe(pattern, handler)
	}
	if err != nil {
		return err
	}
	if err := nc.Flush(); err != nil { // the router has the subscription
		return err
	}
	group := ""
	if *queue != "" {
		group = fmt.Sprintf(" in queue group %q", *queue)
	}
	fmt.Fprintf(sio.err, "listening on %q%s (bus %s)\n", pattern, group, *dir)

	count := 0
loop:
	for *n == 0 || count < *n {
		select {
		case r := <-ch:
			count++
			printMsg(sio.out, count, r, *raw)
		case <-ctx.Done():
			break loop
		}
	}
	sub.Unsubscribe()
	fmt.Fprintf(sio.err, "%d message(s) received\n", count)
	return nil
}

// printMsg prints one received message, as sub shows it.
func printMsg(w io.Writer, i int, r received, raw bool) {
	m := r.m
	if raw {
		fmt.Fprintf(w, "%s\n", m.Data)
		return
	}
	reply := ""
	if m.Reply != "" {
		reply = " reply=" + m.Reply
	}
	fmt.Fprintf(w, "[#%d] %s%s (%d B, %s after publish)\n", i, m.Topic, reply, len(m.Data), dur(r.lat))
	writeHeader(w, m.Header)
	fmt.Fprintf(w, "%s\n\n", printable(m.Data))
}
