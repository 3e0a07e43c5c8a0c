package ring

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

// TestMain turns the test binary into a child process of a cross-process
// test when xpRoleEnv names a role (see xpRoles below); otherwise it runs
// the tests. A child never reaches m.Run: it does its part and exits.
func TestMain(m *testing.M) {
	if role := os.Getenv(xpRoleEnv); role != "" {
		os.Exit(xpRunChild(role))
	}
	os.Exit(m.Run())
}

// TestChildMain is what a child is started with (-test.run=^TestChildMain$),
// so that a child whose role TestMain did not dispatch still runs nothing
// else. It does the child's work if the role is set, and is skipped otherwise.
func TestChildMain(t *testing.T) {
	role := os.Getenv(xpRoleEnv)
	if role == "" {
		t.Skip("runs only as a child of a cross-process test")
	}
	os.Exit(xpRunChild(role))
}

// The child side of the cross-process tests (xproc_test.go, crash_test.go):
// the roles a child plays, each a few lines over the loops in xproc_test.go.
// A child talks to its parent in lines on stdout ("ready", "claimed", ...),
// fails with the reason on stderr and exit code 1, and gives up by itself at
// its deadline or when its parent is gone.

// xpArgs is what a parent tells a child; unused fields are zero.
type xpArgs struct {
	Dir     string        `json:"dir"`
	Name    string        `json:"name"`
	Stream  uint32        `json:"stream,omitempty"`
	N       int           `json:"n,omitempty"`       // records to write or read (consumer: 0 = until killed)
	Batch   int           `json:"batch,omitempty"`   // SPSC producer: records per publish, at most
	Claim   int           `json:"claim,omitempty"`   // producer: then claim this many bytes (>= 8), start filling, hang
	Hold    time.Duration `json:"hold,omitempty"`    // SPSC producer: hold each claim open up to this long
	Open    bool          `json:"open,omitempty"`    // SPSC producer with Claim: claim inside a batch, Flush around it
	Hang    bool          `json:"hang,omitempty"`    // consumer: hang inside the handler ...
	HangAt  uint64        `json:"hang_at,omitempty"` // ... of the record with this seq (MPMC: the first at or past it)
	Out     string        `json:"out,omitempty"`     // MPMC consumer: where to write what it got
	Seed    uint64        `json:"seed,omitempty"`
	Timeout time.Duration `json:"timeout"`
}

// xpRoles are the parts a child can play.
var xpRoles = map[string]func(*xpCtx) error{
	"spsc-produce": xpChildSPSCProduce,
	"spsc-consume": xpChildSPSCConsume,
	"mpmc-produce": xpChildMPMCProduce,
	"mpmc-consume": xpChildMPMCConsume,
	"mpmc-claim":   xpChildMPMCClaim,
}

// xpRunChild plays role and returns the exit code: 0 done, 1 failed (the
// reason on stderr), 2 bad invocation.
func xpRunChild(role string) int {
	run, ok := xpRoles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "ring child: unknown role %q\n", role)
		return 2
	}
	c := &xpCtx{ppid: os.Getppid()}
	if err := json.Unmarshal([]byte(os.Getenv(xpArgsEnv)), &c.xpArgs); err != nil {
		fmt.Fprintf(os.Stderr, "ring child %s: bad args: %v\n", role, err)
		return 2
	}
	c.deadline = time.Now().Add(c.Timeout)
	if err := run(c); err != nil {
		fmt.Fprintf(os.Stderr, "ring child %s: %v\n", role, err)
		return 1
	}
	return 0
}

// xpCtx is a running child's view of its job.
type xpCtx struct {
	xpArgs
	deadline time.Time
	ppid     int
}

// stopped reports whether the child should give up: its deadline passed or
// its parent died (it was re-parented).
func (c *xpCtx) stopped() bool { return time.Now().After(c.deadline) || os.Getppid() != c.ppid }

// say writes one protocol line to the parent. Stdout is unbuffered, so a
// line said is in the pipe even if the child is killed right after.
func (c *xpCtx) say(format string, args ...any) { fmt.Fprintf(os.Stdout, format+"\n", args...) }

func (c *xpCtx) open(kind ipc.Kind) (*ipc.Segment, error) {
	return ipc.Open(c.Name, kind, ipc.WithDir(c.Dir))
}

// hang waits to be killed.
func (c *xpCtx) hang() error {
	for i := 0; i < 1<<20 && !c.stopped(); i++ {
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("not killed before its deadline")
}

// xpChildSPSCProduce writes Stream's records 0..N-1 and detaches. With Claim
// set it instead claims one more record, writes the start of it, says
// "claimed" and waits to be killed holding the claim. With Open as well, the
// last record is only deferred when the claim opens, so the claim is inside
// its batch, and a Flush then publishes that record around the open claim.
func xpChildSPSCProduce(c *xpCtx) error {
	seg, err := c.open(ipc.KindSPSC)
	if err != nil {
		return err
	}
	defer seg.Close()
	p, err := NewProducer(seg.Data())
	if err != nil {
		return err
	}
	c.say("ready")
	w := &xpSPSCWriter{p: p, stream: c.Stream, batch: c.Batch, rng: rand.New(rand.NewPCG(c.Seed, 1)), stop: c.stopped, hold: c.Hold}
	if c.Claim == 0 {
		if err := w.write(0, c.N); err != nil {
			return err
		}
		return p.Close()
	}
	n := uint64(c.N)
	if c.Open {
		n--
	}
	if err := w.write(0, int(n)); err != nil {
		return err
	}
	if c.Open {
		buf, err := w.claim(xpRecSize(c.Stream, n), true)
		if err != nil {
			return err
		}
		xpPutRecord(buf, c.Stream, n)
		p.CommitDeferred()
	}
	// Waiting for room without flushing keeps the claim inside the batch; the
	// consumer can still read everything before it, which makes the room.
	buf, err := w.claim(c.Claim, !c.Open)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(buf, uint64(c.N))
	copy(buf[8:], "half written, never committed")
	p.Flush()
	c.say("claimed")
	return c.hang()
}

// xpChildSPSCConsume reads and checks Stream's records. It says "first SEQ"
// after its first read and "progress COUNT" after reads (at least every 128
// records), each once the head covering those records is published, and
// "result COUNT" when it has N. With N == 0 it takes the stream wherever the
// ring's head is and reads until it is killed. With Hang it says "hung" and
// waits to be killed inside the handler of record HangAt, in mid-read.
func xpChildSPSCConsume(c *xpCtx) error {
	seg, err := c.open(ipc.KindSPSC)
	if err != nil {
		return err
	}
	defer seg.Close()
	cons, err := NewConsumer(seg.Data())
	if err != nil {
		return err
	}
	c.say("ready")
	want := c.N
	if want == 0 {
		want = math.MaxInt
	}
	k := &xpChecker{stream: c.Stream, anyFirst: c.N == 0}
	if c.Hang {
		k.then = func(seq uint64) {
			if seq == c.HangAt {
				c.say("hung")
				_ = c.hang()
			}
		}
	}
	said := 0
	report := func() {
		if said == 0 {
			c.say("first %d", k.first)
		}
		if said == 0 || k.n-said >= 128 {
			c.say("progress %d", k.n)
			said = k.n
		}
	}
	if err := xpReadSPSC(cons, k, k.upTo(want), 0, c.stopped, report); err != nil {
		return err
	}
	c.say("result %d", k.n)
	return cons.Close()
}

// xpChildMPMCProduce writes Stream's records 0..N-1 and detaches.
func xpChildMPMCProduce(c *xpCtx) error {
	seg, err := c.open(ipc.KindMPMC)
	if err != nil {
		return err
	}
	defer seg.Close()
	p, err := NewMPMCProducer(seg.Data())
	if err != nil {
		return err
	}
	c.say("ready")
	if err := xpWriteMPMC(p, c.Stream, c.N, c.stopped); err != nil {
		return err
	}
	return p.Close()
}

// xpChildMPMCConsume reads and checks records until its stdin is closed
// and the ring is empty, then writes what it got to Out (little-endian
// stream<<48 | seq words, in the order received). With Hang it instead says
// "got SEQ" for each record it is handed and, in the handler of the first
// record with a seq of HangAt or more, says "hung SEQ" and waits to be
// killed there, holding the rest of its run.
func xpChildMPMCConsume(c *xpCtx) error {
	seg, err := c.open(ipc.KindMPMC)
	if err != nil {
		return err
	}
	defer seg.Close()
	cons, err := NewMPMCConsumer(seg.Data())
	if err != nil {
		return err
	}
	var eof atomic.Bool
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		eof.Store(true)
	}()
	c.say("ready")
	var s xpSink
	h := s.handle
	if c.Hang {
		h = func(typ, flags uint16, p []byte) {
			if s.handle(typ, flags, p); s.err != nil {
				return
			}
			seq := s.got[len(s.got)-1] & (1<<48 - 1)
			c.say("got %d", seq)
			if seq >= c.HangAt {
				c.say("hung %d", seq)
				_ = c.hang()
			}
		}
	}
	if err := xpReadMPMC(cons, h, eof.Load, c.stopped); err != nil {
		return fmt.Errorf("after %d records: %w", len(s.got), err)
	}
	if s.err != nil {
		return s.err
	}
	out := make([]byte, 8*len(s.got))
	for i, v := range s.got {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	if err := os.WriteFile(c.Out, out, 0o600); err != nil {
		return err
	}
	c.say("result %d", len(s.got))
	return cons.Close()
}

// xpChildMPMCClaim claims a slot, writes the start of it, says "claimed POS" and
// waits to be killed holding the claim.
func xpChildMPMCClaim(c *xpCtx) error {
	seg, err := c.open(ipc.KindMPMC)
	if err != nil {
		return err
	}
	defer seg.Close()
	p, err := NewMPMCProducer(seg.Data())
	if err != nil {
		return err
	}
	buf, err := p.Claim(xpType, c.Claim)
	if err != nil {
		return err
	}
	copy(buf, "half written, never committed")
	c.say("claimed %d", p.pos)
	return c.hang()
}
