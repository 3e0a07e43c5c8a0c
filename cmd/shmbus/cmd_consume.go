package main

import (
	"context"
	"fmt"
	"io"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "consume",
		summary: "take messages from a queue, print and acknowledge them",
		run:     interruptible(runConsume),
	})
}

const consumeDoc = `Consumes the queue QUEUE: prints each delivery (its number, topic, size,
delivery count and priority, then its headers and data) and acknowledges it,
so that the queue forgets it. It exits after -n deliveries, or on SIGINT;
what it holds unsettled then goes back to the queue.

With -n it takes one delivery at a time (unless -prefetch says otherwise),
so that it takes no more than n from the queue.

For testing consumers that fail, -nak gives every delivery back (to be
delivered again, after -nak-delay: watch the delivery count grow) and -term
refuses every one (dead-letters it).

  shmbus consume jobs
  shmbus consume -n 1 -filter 'region == "eu"' jobs
  shmbus consume -nak -n 3 jobs`

func runConsume(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("consume", "QUEUE", consumeDoc, sio)
	n := fs.Int("n", 0, "exit after this many deliveries (0: until interrupted)")
	prefetch := fs.Int("prefetch", 0, "deliveries held unsettled at most (0: 16, or 1 with -n)")
	filter := fs.String("filter", "", "take only the messages this selector accepts, e.g. 'region == \"eu\"'")
	nak := fs.Bool("nak", false, "nak every delivery instead of acking it (it comes back)")
	nakDelay := fs.Duration("nak-delay", 0, "with -nak: redeliver after this long")
	term := fs.Bool("term", false, "term every delivery instead of acking it (dead-letters it)")
	raw := fs.Bool("raw", false, "print only each delivery's data, one per line")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 1:
		return badUsage(fs, "want one QUEUE, got %d arguments", fs.NArg())
	case *n < 0:
		return badUsage(fs, "-n %d: want 0 or more", *n)
	case *prefetch < 0:
		return badUsage(fs, "-prefetch %d: want 1 or more (0: the default)", *prefetch)
	case *nak && *term:
		return badUsage(fs, "-nak and -term: pick one")
	case *nakDelay < 0 || (*nakDelay > 0 && !*nak):
		return badUsage(fs, "-nak-delay %v: want a positive delay, with -nak", *nakDelay)
	}
	queue := fs.Arg(0)
	if err := bus.ValidateTopic(queue); err != nil {
		return badUsage(fs, "queue name %q: %v", queue, err)
	}
	if *prefetch == 0 {
		// With -n, one at a time: a delivery beyond the n-th, let in by
		// the prefetch, would go back to the queue at exit counted as
		// delivered.
		*prefetch = 16
		if *n > 0 {
			*prefetch = 1
		}
	}
	opts := []bus.ConsumeOption{bus.Prefetch(*prefetch)}
	if *filter != "" {
		if err := bus.ValidateFilter(*filter); err != nil {
			return badUsage(fs, "-filter: %v", err)
		}
		opts = append(opts, bus.Filter(*filter))
	}
	nc, err := connect(*dir, "shmbus consume", connEvents(sio.err, "consume")...)
	if err != nil {
		return err
	}
	defer nc.Close()

	// The handler copies each delivery and hands it over; the main
	// goroutine prints and settles it (a Copy settles like the original).
	ch := make(chan received, *prefetch)
	done := make(chan struct{})
	defer close(done) // before nc.Close: frees a handler blocked on ch
	handler := func(m *bus.Msg) {
		lat := m.Latency()
		select {
		case ch <- received{m.Copy(), lat}:
		case <-done:
		}
	}
	sub, err := nc.ConsumeWithContext(ctx, queue, handler, opts...)
	if err != nil {
		return err
	}
	mode := "acking"
	switch {
	case *nak:
		mode = "naking"
	case *term:
		mode = "terming"
	}
	fmt.Fprintf(sio.err, "consuming queue %q, %s each delivery (bus %s)\n", queue, mode, *dir)

	count := 0
loop:
	for *n == 0 || count < *n {
		select {
		case r := <-ch:
			count++
			printDelivery(sio.out, count, r, *raw)
			var err error
			switch {
			case *nak:
				err = r.m.Nak(*nakDelay)
			case *term:
				err = r.m.Term()
			default:
				err = r.m.Ack()
			}
			if err != nil {
				return fmt.Errorf("delivery %d: %w", count, err)
			}
		case <-ctx.Done():
			break loop
		}
	}
	sub.Unsubscribe()
	if err := nc.Flush(); err != nil { // the settles reached the router
		return fmt.Errorf("%d deliveries settled, but the router did not confirm taking them: %w", count, err)
	}
	fmt.Fprintf(sio.err, "%d deliveries from queue %q\n", count, queue)
	return nil
}

// printDelivery prints one delivery, as consume shows it.
func printDelivery(w io.Writer, i int, r received, raw bool) {
	m := r.m
	if raw {
		fmt.Fprintf(w, "%s\n", m.Data)
		return
	}
	fmt.Fprintf(w, "[#%d] %s (%d B, delivery %d, priority %d, %s after sending)\n", i, m.Topic, len(m.Data), m.Deliveries, m.Priority.Level(), dur(r.lat))
	writeHeader(w, m.Header)
	fmt.Fprintf(w, "%s\n\n", printable(m.Data))
}
