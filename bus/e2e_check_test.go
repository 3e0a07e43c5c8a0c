package bus

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The parent side of the end-to-end tests: a bus directory with its router
// process, client children, and the checks on what they report.

// e2eBus is one bus directory and the processes on it.
type e2eBus struct {
	t      *testing.T
	dir    string
	router *e2eProc
	n      int // children started, for unique names
}

// newE2EBus makes a bus directory and starts a router process on it.
func newE2EBus(t *testing.T) *e2eBus {
	t.Helper()
	b := &e2eBus{t: t, dir: t.TempDir()}
	b.startRouter()
	return b
}

// startRouter starts a router process on the directory and waits until it
// serves.
func (b *e2eBus) startRouter() *e2eProc {
	b.t.Helper()
	b.n++
	b.router = e2eStart(b.t, fmt.Sprintf("router-%d", b.n), "router", e2eArgs{Dir: b.dir, Name: "router"})
	b.router.expect("ready")
	return b.router
}

// stopRouter stops the router with SIGTERM and checks that it shut down
// cleanly (exit 0: no error, no panic, and under -race no race report).
func (b *e2eBus) stopRouter() {
	b.t.Helper()
	b.router.signal(syscall.SIGTERM)
	b.router.wait()
}

// e2eClient is a client child.
type e2eClient struct {
	*e2eProc
	id      uint64
	segment string
	out     string
}

// start starts a client child playing role and waits for its "ready ID
// SEGMENT" line.
func (b *e2eBus) start(name, role string, a e2eArgs) *e2eClient {
	b.t.Helper()
	b.n++
	a.Dir, a.Name = b.dir, name
	if role == "subscribe" || role == "scribble" {
		a.Out = filepath.Join(b.t.TempDir(), name+".recs")
	}
	c := &e2eClient{e2eProc: e2eStart(b.t, name, role, a), out: a.Out}
	f := strings.Fields(c.expect("ready"))
	if len(f) != 2 {
		b.t.Fatalf("%s: ready line %q", name, f)
	}
	c.id, _ = strconv.ParseUint(f[0], 10, 64)
	c.segment = f[1]
	return c
}

func (b *e2eBus) sub(name string, specs ...e2eSubSpec) *e2eClient {
	b.t.Helper()
	return b.start(name, "subscribe", e2eArgs{Subs: specs})
}

// segmentPath is where client c's connection segment lives.
func (b *e2eBus) segmentPath(c *e2eClient) string { return filepath.Join(b.dir, c.segment) }

// e2eReport is what a subscriber child reported at "finish".
type e2eReport struct {
	e2eResult
	recs []e2eRec
}

// finish asks a subscriber child for its report and waits for it to exit.
func (c *e2eClient) finish() *e2eReport { c.t.Helper(); return c.finishCmd("finish") }

// finishAccounted is finish once messages got plus messages the router
// reported dropped add up to n (see e2eSink.finish).
func (c *e2eClient) finishAccounted(n int) *e2eReport {
	c.t.Helper()
	return c.finishCmd(fmt.Sprintf("finish %d", n))
}

func (c *e2eClient) finishCmd(cmd string) *e2eReport {
	c.t.Helper()
	c.send(cmd)
	var r e2eReport
	if err := json.Unmarshal([]byte(c.expect("result")), &r.e2eResult); err != nil {
		c.t.Fatalf("%s: result: %v", c.name, err)
	}
	c.wait()
	b, err := os.ReadFile(c.out)
	if err != nil {
		c.t.Fatal(err)
	}
	for ; len(b) >= e2eRecSize; b = b[e2eRecSize:] {
		r.recs = append(r.recs, e2eRec{
			Sub: binary.LittleEndian.Uint32(b), Pub: binary.LittleEndian.Uint32(b[4:]), Seq: binary.LittleEndian.Uint64(b[8:]),
		})
	}
	if r.Corrupt != 0 || r.BadID != 0 {
		c.t.Errorf("%s: %d corrupt payloads, %d with a Msg.ID not matching the payload", c.name, r.Corrupt, r.BadID)
	}
	return &r
}

// seqs returns, in the order received, the sequences subscription sub
// (-1: any) got from publisher pub.
func (r *e2eReport) seqs(sub, pub int) []uint64 {
	var s []uint64
	for _, x := range r.recs {
		if (sub < 0 || int(x.Sub) == sub) && int(x.Pub) == pub {
			s = append(s, x.Seq)
		}
	}
	return s
}

// done waits for a publisher child's "done LAST BUSY" and its exit; it
// returns LAST, the sequence of its last message.
func (c *e2eClient) done() uint64 {
	c.t.Helper()
	f := strings.Fields(c.expect("done"))
	last, err := strconv.ParseUint(f[0], 10, 64)
	if err != nil {
		c.t.Fatalf("%s: done line %q", c.name, f)
	}
	c.wait()
	return last
}

// e2eExpectRun fails unless seqs is exactly from, from+1, ..., to.
func e2eExpectRun(t *testing.T, what string, seqs []uint64, from, to uint64) {
	t.Helper()
	want := uint64(0)
	if to >= from {
		want = to - from + 1
	}
	if uint64(len(seqs)) != want {
		bad := e2eCheckIncreasing(seqs)
		t.Fatalf("%s: got %d messages, want %d (%d..%d); %s", what, len(seqs), want, from, to, bad)
	}
	for i, s := range seqs {
		if s != from+uint64(i) {
			t.Fatalf("%s: message %d has sequence %d, want %d; %s", what, i, s, from+uint64(i), e2eCheckIncreasing(seqs))
		}
	}
}

// e2eCheckIncreasing describes how seqs departs from a strictly increasing
// run: "" if it is one (gaps allowed), else the first repeat or step back.
func e2eCheckIncreasing(seqs []uint64) string {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return fmt.Sprintf("sequence %d after %d at index %d (repeat or reordering)", seqs[i], seqs[i-1], i)
		}
	}
	return ""
}

// e2eMissing counts the sequences missing between the first and last of a
// strictly increasing run.
func e2eMissing(seqs []uint64) uint64 {
	if len(seqs) == 0 {
		return 0
	}
	return seqs[len(seqs)-1] - seqs[0] + 1 - uint64(len(seqs))
}

// lastProgress is the highest "progress N" the child reported so far.
func (p *e2eProc) lastProgress() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, l := range p.lines {
		if v, ok := strings.CutPrefix(l, "progress "); ok {
			if x, err := strconv.Atoi(v); err == nil && x > n {
				n = x
			}
		}
	}
	return n
}

// waitRemoved waits until the file at path is gone.
func waitRemoved(t *testing.T, what, path string) {
	t.Helper()
	waitFor(t, what, func() bool {
		_, err := os.Stat(path)
		return errors.Is(err, fs.ErrNotExist)
	})
}
