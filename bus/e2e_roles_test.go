package bus

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shmbus/shmbus/router"
)

// The child side of the end-to-end tests: the roles a child plays. A child
// reports to its parent in lines on stdout ("ready ...", "progress N",
// "result {json}", ...), takes commands on stdin ("stop", "finish", ...),
// fails with the reason on stderr and exit code 1, and exits when its
// stdin closes or its deadline passes.

// e2eArgs is what a parent tells a child; unused fields are zero.
type e2eArgs struct {
	Dir            string        `json:"dir"`
	Name           string        `json:"name"`
	InRing         int           `json:"in_ring,omitempty"`  // default DefaultRingSize
	OutRing        int           `json:"out_ring,omitempty"` // default DefaultRingSize
	PublishTimeout time.Duration `json:"publish_timeout,omitempty"`
	NoReconnect    bool          `json:"no_reconnect,omitempty"` // close when the router goes

	// Subscriber (and scribbler).
	Subs          []e2eSubSpec `json:"subs,omitempty"`
	Out           string       `json:"out,omitempty"`            // where "finish" writes the records received
	ProgressEvery int          `json:"progress_every,omitempty"` // say "progress N" every this many messages

	// Publisher.
	Pub    int           `json:"pub,omitempty"`    // publisher number carried in every payload
	Topics []string      `json:"topics,omitempty"` // published round robin
	N      int           `json:"n,omitempty"`      // messages to publish; 0: until "stop" (at most e2eMaxMessages)
	Burst  int           `json:"burst,omitempty"`  // pause after each Burst messages (0: never)
	Pause  time.Duration `json:"pause,omitempty"`
	Filler int           `json:"filler,omitempty"` // filler bytes per payload, at most (varies with seq)
	// Outage: publish until the router is seen gone, then into the ring
	// until it is nearly full ("outage FIRST", "outage-done LAST"), wait
	// for the reconnect, then publish N more.
	Outage bool `json:"outage,omitempty"`
}

// e2eSubSpec is one subscription of a subscriber child.
type e2eSubSpec struct {
	Pattern    string        `json:"pattern"`
	Queue      string        `json:"queue,omitempty"`
	Block      time.Duration `json:"block,omitempty"`       // > 0: Block policy with this timeout
	Respond    bool          `json:"respond,omitempty"`     // answer requests with their payload
	Delay      time.Duration `json:"delay,omitempty"`       // sleep this long in the handler ...
	DelayEvery int           `json:"delay_every,omitempty"` // ... every this many messages
}

// e2eRoles are the parts a child can play.
var e2eRoles = map[string]func(*e2eChild) error{
	"router":    e2eChildRouter,
	"publish":   e2eChildPublish,
	"subscribe": e2eChildSubscribe,
	"scribble":  e2eChildScribble,
}

// e2eChild is a running child's view of its job.
type e2eChild struct {
	e2eArgs
	deadline time.Time
	outMu    sync.Mutex
	cmds     chan string   // lines from stdin
	eof      chan struct{} // closed when stdin closes
}

// e2eRunChild plays role and returns the exit code: 0 done, 1 failed (the
// reason on stderr), 2 bad invocation, 4 the parent went away.
func e2eRunChild(role string) int {
	run, ok := e2eRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "e2e child: unknown role %q\n", role)
		return 2
	}
	c := &e2eChild{cmds: make(chan string, 64), eof: make(chan struct{}), deadline: time.Now().Add(e2eChildTimeout)}
	if err := json.Unmarshal([]byte(os.Getenv(e2eArgsEnv)), &c.e2eArgs); err != nil {
		fmt.Fprintf(os.Stderr, "e2e child %s: bad args: %v\n", role, err)
		return 2
	}
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			c.cmds <- sc.Text()
		}
		close(c.eof)
	}()
	if role != "router" {
		go func() { // clients just go when the parent does
			<-c.eof
			os.Exit(4)
		}()
	}
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "e2e child %s (%s): %v\n", role, c.Name, err)
		return 1
	}
	return 0
}

// say writes one report line. Stdout is unbuffered: a line said is in the
// pipe even if the child is killed right after.
func (c *e2eChild) say(format string, args ...any) {
	c.outMu.Lock()
	fmt.Fprintf(os.Stdout, format+"\n", args...)
	c.outMu.Unlock()
}

func (c *e2eChild) late() bool { return time.Now().After(c.deadline) }

// command waits for the next command line, up to the deadline.
func (c *e2eChild) command() (string, error) {
	select {
	case cmd := <-c.cmds:
		return cmd, nil
	case <-c.eof:
		return "", errors.New("stdin closed")
	case <-time.After(time.Until(c.deadline)):
		return "", errors.New("no command before the deadline")
	}
}

// pollCommand returns a command if one is waiting.
func (c *e2eChild) pollCommand() string {
	select {
	case cmd := <-c.cmds:
		return cmd
	default:
		return ""
	}
}

func (c *e2eChild) connect(opts ...Option) (*Conn, error) {
	base := []Option{WithDir(c.Dir), WithName(c.Name), WithReconnectWait(5 * time.Millisecond), WithTimeout(5 * time.Second)}
	if c.InRing > 0 || c.OutRing > 0 {
		base = append(base, WithRingSize(e2eOr(c.InRing, DefaultRingSize), e2eOr(c.OutRing, DefaultRingSize)))
	}
	base = append(base, WithPublishTimeout(e2eOr(c.PublishTimeout, 30*time.Second)))
	if c.NoReconnect {
		base = append(base, WithMaxReconnects(0), WithClosedHandler(func(*Conn) { c.say("closed") }))
	}
	return Connect(append(base, opts...)...)
}

func e2eOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// flush retries Flush until it succeeds or the deadline passes (a router
// restart in between loses a ping; Flush resends it, but a Flush may also
// simply take longer than its timeout on a loaded machine).
func (c *e2eChild) flush(conn *Conn) error {
	var err error
	for !c.late() {
		if err = conn.FlushTimeout(5 * time.Second); err == nil {
			return nil
		}
	}
	return fmt.Errorf("flush: %w", err)
}

// e2eChildRouter runs a router on Dir until SIGTERM (or stdin closes),
// then closes it cleanly. It says "ready PID" once it serves.
func e2eChildRouter(c *e2eChild) error {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r, err := router.New(router.Config{Dir: c.Dir, Logger: log, StatsEvery: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	if err := r.Start(); err != nil {
		r.Close()
		return err
	}
	c.say("ready %d", os.Getpid())
	select {
	case <-sig:
	case <-c.eof:
	case <-time.After(time.Until(c.deadline)):
		r.Close()
		return errors.New("not stopped before the deadline")
	}
	return r.Close()
}

// e2eMaxMessages bounds what a publisher publishes, whatever it is told
// (a subscriber keeps 16 bytes per message it gets).
const e2eMaxMessages = 2 << 20

// e2eChildPublish publishes numbered, checksummed messages (e2ePayload) to
// Topics round robin: N of them, or until "stop". It says "ready ID SEGMENT",
// "progress N" now and then, and "done LAST" once the router has them all.
func e2eChildPublish(c *e2eChild) error {
	var lost, back atomic.Bool
	conn, err := c.connect(
		WithDisconnectHandler(func(*Conn, error) { lost.Store(true); c.say("disconnected") }),
		WithReconnectHandler(func(*Conn) { back.Store(true); c.say("reconnected") }),
		WithErrorHandler(func(_ *Conn, _ *Subscription, err error) { c.say("asyncerr %v", err) }),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	c.say("ready %d %s", conn.ConnID(), conn.Segment())
	buf := make([]byte, e2eHeaderLen+c.Filler)
	var seq uint64
	outage, after := false, 0
	busy := 0
publishing:
	for !c.late() {
		if cmd := c.pollCommand(); cmd == "stop" {
			break
		}
		switch {
		case c.Outage && !outage && lost.Load():
			outage = true
			c.say("outage %d", seq+1)
		case outage && !back.Load() && conn.inFree() < 2*(e2eHeaderLen+c.Filler+len("e2e.topic.long")+64):
			// The ring is as full as we dare: wait for the router.
			c.say("outage-done %d", seq)
			for !back.Load() && !c.late() {
				time.Sleep(time.Millisecond)
			}
			continue
		case outage && back.Load() && after >= c.N,
			!c.Outage && c.N > 0 && int(seq) >= c.N,
			seq >= e2eMaxMessages:
			break publishing
		}
		p := e2ePayload(buf, c.Pub, seq+1, c.Filler)
		if err := conn.Publish(c.Topics[int(seq)%len(c.Topics)], p); err != nil {
			if errors.Is(err, ErrBusFull) {
				busy++
				continue // a stall or an outage: try the same message again
			}
			return fmt.Errorf("publish %d: %w", seq+1, err)
		}
		seq++
		if outage && back.Load() {
			after++
		}
		if seq%1024 == 0 {
			c.say("progress %d", seq)
		}
		if c.Burst > 0 && seq%uint64(c.Burst) == 0 {
			time.Sleep(c.Pause)
		}
	}
	if c.late() {
		return fmt.Errorf("deadline passed after %d messages", seq)
	}
	if err := c.flush(conn); err != nil {
		return err
	}
	c.say("done %d %d", seq, busy)
	return nil
}

// e2eChildSubscribe subscribes Subs, says "ready ID SEGMENT", and on
// "finish" flushes (everything routed to it before is handed over), writes
// the records it got to Out and says "result {json}".
func e2eChildSubscribe(c *e2eChild) error {
	s := &e2eSink{c: c}
	conn, err := c.connect(
		WithDisconnectHandler(func(*Conn, error) { c.say("disconnected") }),
		WithReconnectHandler(func(*Conn) { c.say("reconnected") }),
		WithErrorHandler(s.onErr),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	subs, err := e2eSubscribe(conn, c.Subs, s)
	if err != nil {
		return err
	}
	if err := c.flush(conn); err != nil {
		return err
	}
	c.say("ready %d %s", conn.ConnID(), conn.Segment())
	for {
		cmd, err := c.command()
		if err != nil {
			return err
		}
		if want, ok := strings.CutPrefix(cmd, "finish"); ok {
			return s.finish(conn, subs, want)
		}
	}
}

func e2eSubscribe(conn *Conn, specs []e2eSubSpec, s *e2eSink) ([]*Subscription, error) {
	s.res.Subs = make([]e2eSubReport, len(specs))
	var subs []*Subscription
	for i, spec := range specs {
		s.res.Subs[i].Topics = map[string]int{}
		var opts []SubOption
		if spec.Block > 0 {
			opts = append(opts, WithBlock(spec.Block))
		}
		var sub *Subscription
		var err error
		if spec.Queue != "" {
			sub, err = conn.QueueSubscribe(spec.Pattern, spec.Queue, s.handler(i, spec), opts...)
		} else {
			sub, err = conn.Subscribe(spec.Pattern, s.handler(i, spec), opts...)
		}
		if err != nil {
			return nil, fmt.Errorf("subscribe %q: %w", spec.Pattern, err)
		}
		subs = append(subs, sub)
	}
	return subs, nil
}

// e2eChildScribble is a subscriber that, on "scribble", writes garbage over
// the data area of its own in ring (the ring the router reads) and says
// "scribbled". On "finish" it reports like a subscriber.
func e2eChildScribble(c *e2eChild) error {
	s := &e2eSink{c: c}
	conn, err := c.connect(
		WithDisconnectHandler(func(*Conn, error) { c.say("disconnected") }),
		WithReconnectHandler(func(*Conn) { c.say("reconnected") }),
		WithErrorHandler(s.onErr),
	)
	if err != nil {
		return err
	}
	defer conn.Close()
	subs, err := e2eSubscribe(conn, c.Subs, s)
	if err != nil {
		return err
	}
	if err := c.flush(conn); err != nil {
		return err
	}
	c.say("ready %d %s", conn.ConnID(), conn.Segment())
	for {
		cmd, err := c.command()
		if err != nil {
			return err
		}
		switch cmd {
		case "scribble":
			conn.scribbleInRing(0x41)
			c.say("scribbled")
		case "finish":
			return s.finish(conn, subs, "")
		case "exit":
			return nil
		}
	}
}

// scribbleInRing overwrites the data area of the in ring with b (the ring
// metadata stays as it is) and rings the router. With b = 0x41 every record
// header the router can read there says "length 0x41414141": corrupt.
func (c *Conn) scribbleInRing(b byte) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	data := c.seg.In[len(c.seg.In)-c.seg.InCap:]
	for i := range data {
		data[i] = b
	}
	c.rseg.Bell.Ring()
}
