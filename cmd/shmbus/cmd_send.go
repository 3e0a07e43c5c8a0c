package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func init() {
	register(&command{
		name:    "send",
		summary: "put a message (or -n of them) into a queue, confirmed",
		run:     interruptible(runSend),
	})
}

const sendDoc = `Sends DATA to the queue QUEUE, or what standard input holds when DATA is
absent. With -n it sends n messages; {{n}} in DATA and in header values
becomes the message's number, 1 to n. Every message is confirmed by the
router: the exit status is 1 unless all of them were queued, and the first
refusal says why (queue full, no such queue, expired...).

  shmbus send jobs '{"image":42}'
  shmbus send -p 9 -ttl 30s -H kind=urgent jobs 'resize now'
  shmbus send -n 1000 jobs 'job {{n}}'`

func runSend(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("send", "QUEUE [DATA]", sendDoc, sio)
	n := fs.Int("n", 1, "number of messages to send")
	prio := fs.Int("p", bus.DefaultPriority, "priority, 0 (lowest) to 9")
	ttl := fs.Duration("ttl", 0, "the messages expire this long after sending (0: never)")
	var hdr headerFlag
	fs.Var(&hdr, "H", "header `key=value` (repeat for more)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() < 1 || fs.NArg() > 2:
		return badUsage(fs, "want QUEUE [DATA], got %d arguments", fs.NArg())
	case *n < 1:
		return badUsage(fs, "-n %d: want at least 1", *n)
	case *prio < 0 || *prio > bus.MaxPriority:
		return badUsage(fs, "-p %d: want 0 to %d", *prio, bus.MaxPriority)
	case *ttl < 0:
		return badUsage(fs, "-ttl %v: want 0 or more", *ttl)
	}
	queue := fs.Arg(0)
	if err := bus.ValidateTopic(queue); err != nil {
		return badUsage(fs, "queue name %q: %v", queue, err)
	}
	data, err := readData(fs, 1, sio.in)
	if err != nil {
		return err
	}
	nc, err := connect(*dir, "shmbus send")
	if err != nil {
		return err
	}
	defer nc.Close()

	// SendAsync keeps many messages in flight; done counts the verdicts.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		refused  int
		firstErr error
	)
	done := func(err error) {
		if err != nil {
			mu.Lock()
			if refused++; firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
		wg.Done()
	}
	tmplData := bytes.Contains(data, []byte(nTemplate))
	tmplHdr := strings.Contains(hdr.String(), nTemplate)
	m := &bus.Msg{Topic: queue, Header: hdr.h, Data: data, Priority: bus.Prio(*prio), TTL: *ttl}
	written := 0
	var writeErr error
	for i := 1; i <= *n && ctx.Err() == nil; i++ {
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
		wg.Add(1)
		if writeErr = nc.SendAsync(m, done); writeErr != nil {
			wg.Done()
			writeErr = fmt.Errorf("message %d of %d to queue %q: %w", i, *n, queue, writeErr)
			break
		}
		written++
	}
	if err := waitGroup(&wg, bus.DefaultQueueTimeout); err != nil {
		return fmt.Errorf("%d message(s) written to queue %q, %d not confirmed: %w", written, queue, nc.PendingSends(), err)
	}
	queued := written - refused
	switch {
	case firstErr != nil && *n == 1:
		return fmt.Errorf("not queued: %w", firstErr)
	case firstErr != nil:
		return fmt.Errorf("%d of %d message(s) queued in %q; %d refused, the first: %w", queued, *n, queue, refused, firstErr)
	case writeErr != nil:
		return fmt.Errorf("%d of %d message(s) queued in %q: %w", queued, *n, queue, writeErr)
	case written < *n:
		return fmt.Errorf("interrupted: %d of %d message(s) queued in %q", queued, *n, queue)
	}
	fmt.Fprintf(sio.err, "sent %d message(s) to queue %q, all confirmed\n", queued, queue)
	return nil
}

// waitGroup waits for wg, up to timeout.
func waitGroup(wg *sync.WaitGroup, timeout time.Duration) error {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-t.C:
		return fmt.Errorf("no confirm from the router within %v: %w", timeout, bus.ErrTimeout)
	}
}
