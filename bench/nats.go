package bench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// The NATS references: a nats-server (the library, in a child process of
// its own, listening on 127.0.0.1 at a random port) and nats.go clients,
// each in a process of its own, the requester or publisher being this
// process. Nothing leaves the loopback interface.
//
//	nats.reqrep        this process: Request  ->  server  ->  echo child: Respond
//	nats.pubsub/1toK   this process: Publish  ->  server  ->  K sink children
//
// Subscribers have no pending limits (nats.go would otherwise drop past
// 64 Ki messages) and check every sequence number: a drop, a slow-consumer
// error or a disconnect fails the run, so the figure is delivered messages.

// Defaults of the NATS references.
const (
	DefaultNATSReqN = 20_000
	DefaultPubSubN  = 1_000_000
)

// Subjects the NATS and bus benchmarks use.
const (
	subjEcho  = "bench.echo"
	subjTput  = "bench.tput"
	subjDone  = "bench.done"
	natsStart = 10 * time.Second // bound on the server's start
	// natsMaxPayload is the server's message limit: room for the largest
	// payload of the sweep (1 MiB, the server's default limit) and its
	// protocol line.
	natsMaxPayload = 8 << 20
)

func init() {
	roles["nats-server"] = natsServer
	roles["nats-echo"] = natsEcho
	roles["nats-sink"] = natsSink
}

// NATSReqRep measures nats.go Request round trips of Size bytes (default
// 64) to an echo responder through a nats-server: three processes; closed
// loop, or at p.Rate requests a second (timeRounds).
func NATSReqRep(p Params) (*Result, error) {
	n, size := p.n(DefaultNATSReqN), p.size(64)
	if size < 8 {
		return nil, fmt.Errorf("bench: nats.reqrep: size %d too small", size)
	}
	h := NewHist()
	err := withNATS(p, func(w *crew, url string, g *guard) error {
		if err := w.start("nats-echo", childArgs{URL: url, N: n, Size: size}, false); err != nil {
			return err
		}
		if _, err := w.await("echo-0", g); err != nil {
			return err
		}
		nc, err := natsConnect(url, "requester", nil)
		if err != nil {
			return err
		}
		defer nc.Close()
		msg := make([]byte, size)
		round := func(i int) error {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			rep, err := nc.Request(subjEcho, msg, g.left())
			if err != nil {
				return err
			}
			if len(rep.Data) != size || binary.LittleEndian.Uint64(rep.Data) != uint64(i) {
				return errors.New("wrong answer")
			}
			return nil
		}
		if err := round(0); err != nil {
			return fmt.Errorf("round 0: %w", err)
		}
		if err := timeRounds(n, p.Rate, h, realClock, round); err != nil {
			return err
		}
		nc.Close()
		reps, _, err := w.finish()
		if err == nil && reps[0].Count != int64(n)+1 {
			err = fmt.Errorf("echo answered %d of %d", reps[0].Count, n+1)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: nats.reqrep: %w", err)
	}
	r := latencyResult("nats.reqrep", h)
	r.Size, r.Rate = size, p.Rate
	return r, nil
}

// NATSPubSub streams N messages of Size bytes (default 64) from this
// process to p.Subs (default 1) sink processes through a nats-server. Time
// runs from the first Publish until every sink has said, with a message
// on bench.done, that it saw all N in order; the rate is aggregate
// (N times the sinks, over that time).
func NATSPubSub(p Params) (*Result, error) {
	return natsPubSub(p, fmt.Sprintf("nats.pubsub/1to%d", max(1, p.Subs)), topicPlan{})
}

// NATSPayload is NATSPubSub 1 to 1 named after its payload size.
func NATSPayload(p Params) (*Result, error) {
	p.Subs = 1
	return natsPubSub(p, fmt.Sprintf("nats.payload/%d", p.size(64)), topicPlan{})
}

// NATSTopics is NATSPubSub 1 to 1 over p.Topics distinct topics published
// round robin, the sink subscribed to all with one bench.t.> (topicPlan).
func NATSTopics(p Params) (*Result, error) {
	p.Subs = 1
	tp := topicPlan{Topics: max(1, p.Topics)}
	return natsPubSub(p, fmt.Sprintf("nats.topics/%d", tp.Topics), tp)
}

// NATSWildcards is NATSPubSub 1 to 1 with p.Wild wildcard subscriptions
// in the sink, each matching one of the p.Wild topics published round
// robin (topicPlan).
func NATSWildcards(p Params) (*Result, error) {
	p.Subs = 1
	tp := topicPlan{Wild: max(1, p.Wild)}
	return natsPubSub(p, fmt.Sprintf("nats.wildcards/%d", tp.Wild), tp)
}

func natsPubSub(p Params, name string, tp topicPlan) (*Result, error) {
	n, size, k := p.n(DefaultPubSubN), p.size(64), max(1, p.Subs)
	if size < 8 || size > MaxStreamSize {
		return nil, fmt.Errorf("bench: %s: size %d out of range (8 .. %d)", name, size, MaxStreamSize)
	}
	topics := tp.publishTo(n)
	var d int64
	err := withNATS(p, func(w *crew, url string, g *guard) error {
		for i := range k {
			a := childArgs{URL: url, N: n, Size: size, Index: i, Topics: tp.Topics, Wild: tp.Wild}
			if err := w.start("nats-sink", a, false); err != nil {
				return err
			}
		}
		for i := range k {
			if _, err := w.await("sink-"+strconv.Itoa(i), g); err != nil {
				return err
			}
		}
		nc, err := natsConnect(url, "publisher", nil)
		if err != nil {
			return err
		}
		defer nc.Close()
		done, err := nc.SubscribeSync(subjDone)
		if err == nil {
			err = nc.Flush()
		}
		if err != nil {
			return err
		}
		msg := make([]byte, size)
		for i := range msg {
			msg[i] = byte(i)
		}
		start := now()
		for i := 0; i < n; i++ {
			binary.LittleEndian.PutUint64(msg, uint64(i))
			if err := nc.Publish(topics[i%len(topics)], msg); err != nil {
				return fmt.Errorf("publish %d: %w", i, err)
			}
		}
		if err := nc.Flush(); err != nil {
			return err
		}
		if err := awaitDone(k, func() error {
			_, err := done.NextMsg(10 * time.Millisecond)
			if errors.Is(err, nats.ErrTimeout) {
				return errNothingYet
			}
			return err
		}, w, g); err != nil {
			return err
		}
		d = now() - start
		nc.Close()
		reps, _, err := w.finish()
		for i, r := range reps {
			if err == nil && r.Count != int64(n) {
				err = fmt.Errorf("sink %d saw %d of %d", i, r.Count, n)
			}
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	return throughputResult(name, int64(n)*int64(k), size, durationNS(d)), nil
}

// errNothingYet is what a poll for bench.done says when nothing came.
var errNothingYet = errors.New("nothing yet")

// awaitDone waits for k messages on bench.done, polling next (which
// returns errNothingYet when none came in its short wait) and checking
// the crew in between.
func awaitDone(k int, next func() error, w *crew, g *guard) error {
	for seen := 0; seen < k; {
		switch err := next(); {
		case err == nil:
			seen++
		case !errors.Is(err, errNothingYet):
			return err
		default:
			if err := w.check(g); err != nil {
				return err
			}
		}
	}
	return nil
}

// withNATS starts a nats-server child and runs body with its URL.
func withNATS(p Params, body func(w *crew, url string, g *guard) error) error {
	dir, cleanup, err := p.tempDir()
	if err != nil {
		return err
	}
	defer cleanup()
	w := newCrew(dir, p.timeout())
	defer w.kill()
	g := newGuard(p.timeout(), nil)
	if err := w.start("nats-server", childArgs{}, true); err != nil {
		return err
	}
	url, err := w.await("server", &g)
	if err != nil {
		return err
	}
	return body(w, url, &g)
}

// natsConnect connects a client that never reconnects (a lost server
// fails the run) and reports asynchronous errors to onErr.
func natsConnect(url, name string, onErr func(error)) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.NoReconnect()}
	if onErr != nil {
		opts = append(opts, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { onErr(err) }))
	}
	return nats.Connect(url, opts...)
}

// natsServer is the server child: it serves until the stop file.
func natsServer(a *childArgs) (*childReport, error) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		MaxPayload: natsMaxPayload})
	if err != nil {
		return nil, err
	}
	s.Start()
	defer func() {
		s.Shutdown()
		s.WaitForShutdown()
	}()
	if !s.ReadyForConnections(natsStart) {
		return nil, errors.New("nats-server not ready")
	}
	if err := writeReady(a.Path, "server", s.ClientURL()); err != nil {
		return nil, err
	}
	g := a.guard()
	if err := waitStop(a.Path, &g, nil, nil); err != nil {
		return nil, err
	}
	return &childReport{Note: s.ClientURL()}, nil
}

// firstErr keeps the first error a callback reports and closes done.
type firstErr struct {
	once sync.Once
	mu   sync.Mutex
	err  error
	done chan struct{}
}

func newFirstErr() *firstErr { return &firstErr{done: make(chan struct{})} }

// set records err (the first one wins) and releases the waiter.
func (f *firstErr) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
	f.finish()
}

// finish releases the waiter.
func (f *firstErr) finish() { f.once.Do(func() { close(f.done) }) }

// serve is what a subscribing child does once its subscription is made
// (subErr): flush it to the broker, tell the parent it is ready under name,
// then wait, bounded by the child's deadline, until the handler finishes
// (fe.finish) or fails (fe.set).
func serve(a *childArgs, subErr error, flush func() error, name string, fe *firstErr) error {
	err := subErr
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = writeReady(a.Path, name, "")
	}
	if err != nil {
		return err
	}
	g := a.guard()
	if err := waitDone(fe.done, &g); err != nil {
		return err
	}
	return fe.get()
}

func (f *firstErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// natsEcho answers N+1 requests with their own payload.
func natsEcho(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	nc, err := natsConnect(a.URL, "echo", fe.set)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	var count int64
	_, err = nc.Subscribe(subjEcho, func(m *nats.Msg) {
		if err := m.Respond(m.Data); err != nil {
			fe.set(err)
		}
		if count++; count == int64(a.N)+1 {
			fe.finish()
		}
	})
	if err := serve(a, err, nc.Flush, "echo-0", fe); err != nil {
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		return nil, err
	}
	return &childReport{Count: count}, nil
}

// natsSink counts N messages, checking order and size on each of its
// subscriptions (topicPlan), then says so on bench.done.
func natsSink(a *childArgs) (*childReport, error) {
	fe := newFirstErr()
	name := "sink-" + strconv.Itoa(a.Index)
	nc, err := natsConnect(a.URL, name, fe.set)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	pats := planOf(a).patterns()
	chk := newSeqCheck(a.N, a.Size, len(pats))
	for i, pat := range pats {
		var sub *nats.Subscription
		sub, err = nc.Subscribe(pat, func(m *nats.Msg) {
			switch done, err := chk.check(i, m.Data); {
			case err != nil:
				fe.set(err)
			case done:
				fe.finish()
			}
		})
		if err == nil {
			err = sub.SetPendingLimits(-1, -1) // never drop on this side
		}
		if err != nil {
			break
		}
	}
	if err := serve(a, err, nc.Flush, name, fe); err != nil {
		return nil, err
	}
	if err := nc.Publish(subjDone, []byte(strconv.Itoa(a.Index))); err != nil {
		return nil, err
	}
	if err := nc.Flush(); err != nil {
		return nil, err
	}
	return &childReport{Count: chk.seen.Load(), Note: chk.sum()}, nil
}
