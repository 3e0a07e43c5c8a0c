package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "reply",
		summary: "answer requests on a topic with fixed data or a command's output",
		run:     interruptible(runReply),
	})
}

const replyDoc = `Answers each request on TOPIC, either with DATA or, with -cmd, with the
standard output of a shell command that gets the request's data on its
standard input (one command per request, one request at a time). A command
that fails still answers, with its output and an Error header. Runs until
SIGINT, or until it has answered -n requests.

  shmbus reply quotes.get 1.0842
  shmbus reply -queue upper -cmd 'tr a-z A-Z' text.upper`

// errHeader names the header of an answer whose command failed.
const errHeader = "Error"

func runReply(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("reply", "TOPIC [DATA]", replyDoc, sio)
	queue := fs.String("queue", "", "join this queue group: each request goes to one member")
	shell := fs.String("cmd", "", "answer with the output of this shell command (request data on its stdin)")
	n := fs.Int("n", 0, "exit after answering this many requests (0: until interrupted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return badUsage(fs, "want TOPIC [DATA], got %d arguments", fs.NArg())
	case fs.NArg() == 2 && *shell != "":
		return badUsage(fs, "give DATA or -cmd, not both")
	case fs.NArg() == 1 && *shell == "":
		return badUsage(fs, "give the DATA to answer with, or -cmd")
	case *n < 0:
		return badUsage(fs, "-n %d: want 0 or more", *n)
	}
	topic := fs.Arg(0)
	if err := bus.ValidatePattern(topic); err != nil {
		return badUsage(fs, "topic %q: %v", topic, err)
	}
	if *queue != "" {
		if err := bus.ValidateTopic(*queue); err != nil {
			return badUsage(fs, "-queue %q: %v", *queue, err)
		}
	}
	nc, err := connect(*dir, "shmbus reply", connEvents(sio.err, "reply")...)
	if err != nil {
		return err
	}
	defer nc.Close()
	var sub *bus.Subscription
	if *queue != "" {
		sub, err = nc.QueueSubscribeSync(topic, *queue)
	} else {
		sub, err = nc.SubscribeSync(topic)
	}
	if err != nil {
		return err
	}
	if err := nc.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(sio.err, "answering requests on %q (bus %s)\n", topic, *dir)

	answered := 0
	defer func() {
		// Close lets go of what the router has not read yet: the last
		// answers must reach it first.
		nc.FlushTimeout(2 * time.Second)
		fmt.Fprintf(sio.err, "%d request(s) answered\n", answered)
	}()
	for *n == 0 || answered < *n {
		m, err := sub.NextMsgWithContext(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, bus.ErrSlowConsumer):
			fmt.Fprintf(sio.err, "shmbus reply: %v\n", err)
			continue
		case err != nil:
			return err
		case m.Reply == "":
			fmt.Fprintf(sio.err, "shmbus reply: a message on %q carries no reply topic; not a request, skipped\n", m.Topic)
			continue
		}
		resp := &bus.Msg{Data: []byte(fs.Arg(1))}
		if *shell != "" {
			resp = runShell(ctx, *shell, m.Data, sio)
		}
		if err := m.RespondMsg(resp); err != nil {
			return fmt.Errorf("answering a request on %q: %w", m.Topic, err)
		}
		answered++
		fmt.Fprintf(sio.err, "[#%d] %s: answered %d B with %d B\n", answered, m.Topic, len(m.Data), len(resp.Data))
	}
	return nil
}

// runShell runs `sh -c shell` with data on its standard input and makes its
// standard output the answer; its standard error goes to ours.
func runShell(ctx context.Context, shell string, data []byte, sio stdio) *bus.Msg {
	var out bytes.Buffer
	c := exec.CommandContext(ctx, "/bin/sh", "-c", shell)
	c.Stdin, c.Stdout, c.Stderr = bytes.NewReader(data), &out, sio.err
	resp := &bus.Msg{}
	if err := c.Run(); err != nil {
		fmt.Fprintf(sio.err, "shmbus reply: -cmd %q: %v\n", shell, err)
		resp.Header = bus.Header{}
		resp.Header.Set(errHeader, err.Error())
	}
	resp.Data = out.Bytes()
	return resp
}
