package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "req",
		summary: "send a request and print the reply",
		run:     interruptible(runReq),
	})
}

const reqDoc = `Sends DATA (standard input when DATA is absent) as a request to TOPIC and
prints the first reply's data on standard output; its headers and the round
trip time go to standard error. The exit status is 1 when nothing
subscribes to TOPIC (no responders) or no reply comes within -timeout.

  shmbus req quotes.get EURUSD
  shmbus req -timeout 50ms -H trace=42 quotes.get EURUSD`

func runReq(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("req", "TOPIC [DATA]", reqDoc, sio)
	timeout := fs.Duration("timeout", 2*time.Second, "how long to wait for the reply")
	var hdr headerFlag
	fs.Var(&hdr, "H", "header `key=value` (repeat for more)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return badUsage(fs, "want TOPIC [DATA], got %d arguments", fs.NArg())
	case *timeout <= 0:
		return badUsage(fs, "-timeout %v: want a positive duration", *timeout)
	}
	topic := fs.Arg(0)
	if err := bus.ValidateTopic(topic); err != nil {
		return badUsage(fs, "topic %q: %v", topic, err)
	}
	data, err := readData(fs, 1, sio.in)
	if err != nil {
		return err
	}
	nc, err := connect(*dir, "shmbus req")
	if err != nil {
		return err
	}
	defer nc.Close()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	start := time.Now()
	resp, err := nc.RequestMsgWithContext(ctx, &bus.Msg{Topic: topic, Header: hdr.h, Data: data})
	rtt := time.Since(start)
	switch {
	case errors.Is(err, bus.ErrNoResponders):
		return fmt.Errorf("no responders: nothing subscribes to %q (answer it with `shmbus reply %s DATA`): %w", topic, topic, err)
	case errors.Is(err, bus.ErrTimeout):
		return fmt.Errorf("no reply from %q within %v (a subscriber has it, but did not answer): %w", topic, *timeout, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("interrupted while waiting for a reply from %q", topic)
	case err != nil:
		return err
	}
	writeHeader(sio.err, resp.Header)
	fmt.Fprintf(sio.err, "reply from %q in %s (%d B)\n", topic, dur(rtt), len(resp.Data))
	out := resp.Data
	if !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	_, err = sio.out.Write(out)
	return err
}
