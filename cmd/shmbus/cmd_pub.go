package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "pub",
		summary: "publish a message (or -n of them) to a topic",
		run:     interruptible(runPub),
	})
}

const pubDoc = `Publishes DATA to TOPIC, or what standard input holds when DATA is absent.
With -n it publishes n messages; {{n}} in DATA and in header values becomes
the message's number, 1 to n. It exits once the router has taken every
message (a flush).

  shmbus pub orders.eu.created '{"id":42}'
  shmbus pub -n 100 -H trace=t{{n}} jobs.resize 'job {{n}}'
  date | shmbus pub clock.tick`

// nTemplate is replaced by the message number in pub's data and headers.
const nTemplate = "{{n}}"

func runPub(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("pub", "TOPIC [DATA]", pubDoc, sio)
	n := fs.Int("n", 1, "number of messages to publish")
	reply := fs.String("reply", "", "reply topic the messages carry (where responders answer)")
	var hdr headerFlag
	fs.Var(&hdr, "H", "header `key=value` (repeat for more)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return badUsage(fs, "want TOPIC [DATA], got %d arguments", fs.NArg())
	case *n < 1:
		return badUsage(fs, "-n %d: want at least 1", *n)
	}
	topic := fs.Arg(0)
	if err := bus.ValidateTopic(topic); err != nil {
		return badUsage(fs, "topic %q: %v", topic, err)
	}
	if *reply != "" {
		if err := bus.ValidateTopic(*reply); err != nil {
			return badUsage(fs, "-reply %q: %v", *reply, err)
		}
	}
	data, err := readData(fs, 1, sio.in)
	if err != nil {
		return err
	}
	nc, err := connect(*dir, "shmbus pub")
	if err != nil {
		return err
	}
	defer nc.Close()

	tmplData := bytes.Contains(data, []byte(nTemplate))
	tmplHdr := strings.Contains(hdr.String(), nTemplate)
	m := &bus.Msg{Topic: topic, Reply: *reply, Header: hdr.h, Data: data}
	sent := 0
	for i := 1; i <= *n; i++ {
		if ctx.Err() != nil {
			break
		}
		num := strconv.Itoa(i)
		if tmplData {
			m.Data = bytes.ReplaceAll(data, []byte(nTemplate), []byte(num))
		}
		if tmplHdr {
			m.Header = bus.Header{}
			for k, vs := range hdr.h {
				for _, v := range vs {
					m.Header.Add(k, strings.ReplaceAll(v, nTemplate, num))
				}
			}
		}
		if err := nc.PublishMsg(m); err != nil {
			return fmt.Errorf("message %d of %d to %q: %w", i, *n, topic, err)
		}
		sent++
	}
	if err := nc.Flush(); err != nil {
		return fmt.Errorf("%d message(s) published to %q, but the router did not confirm them: %w", sent, topic, err)
	}
	if sent < *n {
		return fmt.Errorf("interrupted: %d of %d messages published to %q", sent, *n, topic)
	}
	fmt.Fprintf(sio.err, "published %d message(s) to %q\n", sent, topic)
	return nil
}
