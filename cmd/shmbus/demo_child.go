package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shmbus/shmbus/bus"
)

// The demo's two children are this binary run again with $SHMBUS_DEMO_CHILD
// set to their role: "publisher" or "subscriber". Each connects to the bus
// as an ordinary client, does its part and prints a demoReport as JSON on
// standard output.
const (
	envDemoRole = "SHMBUS_DEMO_CHILD"
	envDemoArgs = "SHMBUS_DEMO_ARGS" // demoArgs as JSON
)

// demoArgs is what the demo tells its children.
type demoArgs struct {
	Dir      string  `json:"dir"`
	Prefix   string  `json:"prefix"` // topic prefix: demo.<parent pid>
	N        int     `json:"n"`      // messages to publish
	Size     int     `json:"size"`   // payload bytes
	Rate     float64 `json:"rate"`   // messages per second; 0: as fast as possible
	Requests int     `json:"requests"`
	Progress int64   `json:"progress_ns"` // subscriber's progress interval
	Deadline int64   `json:"deadline"`    // wall clock, Unix ns: give up past it
}

func (a *demoArgs) topic(leaf string) string { return a.Prefix + "." + leaf }

// demoReport is what a child prints when it is done.
type demoReport struct {
	Count     int64       `json:"count"`                // published, or received
	ElapsedNS int64       `json:"elapsed_ns,omitempty"` // publisher: first to last publish
	BehindNS  int64       `json:"behind_ns,omitempty"`  // publisher: most it fell behind its schedule
	Gaps      int64       `json:"gaps,omitempty"`       // subscriber: messages out of sequence
	Dropped   uint64      `json:"dropped,omitempty"`    // subscriber: dropped for it by the router
	Answered  int64       `json:"answered,omitempty"`   // subscriber: requests answered
	ReqErrors int64       `json:"req_errors,omitempty"` // publisher: requests without an answer
	Latency   *latSummary `json:"latency,omitempty"`    // one-way (subscriber) or round trip (publisher)
}

// demoProgress is what the subscriber publishes on <prefix>.progress.
type demoProgress struct {
	Received  int64  `json:"received"`
	Answered  int64  `json:"answered"`
	Topic     string `json:"topic,omitempty"` // the sample: the latest message
	Size      int    `json:"size,omitempty"`
	Text      string `json:"text,omitempty"`
	LatencyNS int64  `json:"latency_ns,omitempty"`
}

var demoRoles = map[string]func(context.Context, *demoArgs) (*demoReport, error){
	"publisher":  demoPublisher,
	"subscriber": demoSubscriber,
}

// MaybeRunDemoChild runs the demo child role named by $SHMBUS_DEMO_CHILD
// and exits; it returns at once when the variable is unset. main calls it
// first thing, and so does TestMain (the demo test's children are the test
// binary).
func MaybeRunDemoChild() {
	role := os.Getenv(envDemoRole)
	if role == "" {
		return
	}
	os.Exit(runDemoChild(role))
}

func runDemoChild(role string) int {
	body, ok := demoRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "demo child: unknown role %q\n", role)
		return 2
	}
	var a demoArgs
	if err := json.Unmarshal([]byte(os.Getenv(envDemoArgs)), &a); err != nil {
		fmt.Fprintf(os.Stderr, "demo %s: bad arguments: %v\n", role, err)
		return 2
	}
	// The demo stops a child with SIGTERM (by PID); the child then closes
	// its connection, which removes its segment.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithDeadline(ctx, time.Unix(0, a.Deadline))
	defer cancel()
	rep, err := body(ctx, &a)
	if err != nil {
		fmt.Fprintf(os.Stderr, "demo %s: %v\n", role, err)
		return 1
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 1
	}
	return 0
}

// demoPayload fills buf with "#<seq> shmbus demo payload ..." (readable in
// the sample the demo shows; the subscriber parses the sequence number).
func demoPayload(buf []byte, seq int) {
	const filler = " shmbus demo payload"
	b := strconv.AppendInt(append(buf[:0], '#'), int64(seq), 10)
	for i := 0; len(b) < cap(buf); i++ {
		b = append(b, filler[i%len(filler)])
	}
}

// payloadSeq parses the sequence number demoPayload wrote; -1 if none.
func payloadSeq(data []byte) int64 {
	if len(data) < 2 || data[0] != '#' {
		return -1
	}
	var n int64
	for _, c := range data[1:] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// demoPublisher publishes N messages at the rate, in the schedule's
// rhythm (Go's timers wake up no finer than about a millisecond, so at high
// rates a few messages leave together), then makes the requests one after
// the other, timing each round trip, then tells the subscriber it is over.
func demoPublisher(ctx context.Context, a *demoArgs) (*demoReport, error) {
	nc, err := bus.Connect(bus.WithDir(a.Dir), bus.WithName("demo publisher"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	rep := &demoReport{}
	buf := make([]byte, a.Size)
	var interval time.Duration
	if a.Rate > 0 {
		interval = time.Duration(float64(time.Second) / a.Rate)
	}
	ticks := a.topic("ticks")
	start := time.Now()
	for i := 1; i <= a.N; i++ {
		if i&255 == 0 && ctx.Err() != nil {
			return nil, fmt.Errorf("stopped after %d messages: %w", i-1, ctx.Err())
		}
		if interval > 0 {
			due := start.Add(time.Duration(i-1) * interval)
			if wait := time.Until(due); wait > 0 {
				time.Sleep(wait)
			} else if -wait > time.Duration(rep.BehindNS) {
				rep.BehindNS = int64(-wait)
			}
		}
		demoPayload(buf, i)
		if err := nc.Publish(ticks, buf); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		rep.Count++
	}
	rep.ElapsedNS = int64(time.Since(start))
	if err := nc.Flush(); err != nil {
		return nil, err
	}

	rtt := newLatHist()
	echo, req := a.topic("echo"), make([]byte, 16)
	for i := 0; i < a.Requests && ctx.Err() == nil; i++ {
		demoPayload(req, i+1)
		t0 := time.Now()
		if _, err := nc.Request(echo, req, time.Second); err != nil {
			rep.ReqErrors++
			if rep.ReqErrors >= 10 {
				return nil, fmt.Errorf("requests failing, the last: %w", err)
			}
			continue
		}
		rtt.Record(time.Since(t0))
	}
	rep.Latency = rtt.Summary()
	if err := nc.Publish(a.topic("end"), nil); err != nil {
		return nil, err
	}
	return rep, nc.Flush()
}

// demoSubscriber records the one-way latency of every message on the
// ticks topic (from its PubTime, stamped in the publisher's process),
// answers requests on the echo topic, and publishes its progress, until the
// publisher says it is over.
func demoSubscriber(ctx context.Context, a *demoArgs) (*demoReport, error) {
	nc, err := bus.Connect(bus.WithDir(a.Dir), bus.WithName("demo subscriber"))
	if err != nil {
		return nil, err
	}
	defer nc.Close()

	// Handlers run on the dispatcher goroutine: hist, lastSeq and gaps are
	// its own until end is closed; received and answered are shared with
	// the progress ticker.
	var (
		hist               = newLatHist()
		lastSeq, gaps      int64
		received, answered atomic.Int64
		wantSample         atomic.Bool
		end                = make(chan struct{})
		endOnce            sync.Once
		respondErr         atomic.Pointer[error]
	)
	// Progress: each tick asks for a sample, and the next message's handler
	// publishes the progress with that message as the sample. A tick that
	// finds the last request still open (nothing came since) publishes the
	// counts alone. Progress is for show: losing one is no error.
	progress := func(p demoProgress) {
		p.Received, p.Answered = received.Load(), answered.Load()
		js, _ := json.Marshal(p)
		_ = nc.Publish(a.topic("progress"), js)
	}
	block := bus.WithBlock(time.Second) // hold the publisher rather than drop
	ticks, err := nc.Subscribe(a.topic("ticks"), func(m *bus.Msg) {
		lat := m.Latency()
		hist.Record(lat)
		if seq := payloadSeq(m.Data); seq != lastSeq+1 {
			gaps++
		} else {
			lastSeq = seq
		}
		received.Add(1)
		if wantSample.CompareAndSwap(true, false) {
			text := m.Data[:min(len(m.Data), 32)]
			progress(demoProgress{Topic: m.Topic, Size: len(m.Data), Text: string(text), LatencyNS: int64(lat)})
		}
	}, block)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Subscribe(a.topic("echo"), func(m *bus.Msg) {
		if err := m.Respond(m.Data); err != nil {
			respondErr.Store(&err)
			return
		}
		answered.Add(1)
	}, block); err != nil {
		return nil, err
	}
	if _, err := nc.Subscribe(a.topic("end"), func(*bus.Msg) { endOnce.Do(func() { close(end) }) }, block); err != nil {
		return nil, err
	}
	if err := nc.Flush(); err != nil { // the router has the subscriptions
		return nil, err
	}
	if err := nc.Publish(a.topic("ready"), nil); err != nil {
		return nil, err
	}

	tick := time.NewTicker(time.Duration(a.Progress))
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if wantSample.Swap(true) {
				progress(demoProgress{})
			}
			continue
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped after %d messages: %w", received.Load(), ctx.Err())
		case <-end:
		}
		break
	}
	if err := ticks.Unsubscribe(); err != nil && !errors.Is(err, bus.ErrBadSubscription) {
		return nil, err
	}
	if p := respondErr.Load(); p != nil {
		return nil, fmt.Errorf("answering a request: %w", *p)
	}
	// end was closed on the dispatcher after every tick was handled: hist
	// and gaps are ours now.
	return &demoReport{
		Count:    received.Load(),
		Gaps:     gaps,
		Dropped:  ticks.Dropped(),
		Answered: answered.Load(),
		Latency:  hist.Summary(),
	}, nil
}
