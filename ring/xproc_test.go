package ring

// Cross-process tests. The test binary re-executes itself as child
// processes (TestMain in main_test.go dispatches on xpRoleEnv, and the roles
// a child plays are there too), so that producers and consumers run in
// different processes over one segment file in t.TempDir(), as applications
// do. This file holds the record format, the checkers, the read and write
// loops both sides share, the parent's handles on its children, and the
// tests of normal operation; crash_test.go kills children at the worst
// moments.
//
// Rules the harness keeps: children are stopped by PID (SIGKILL), never by
// name; every loop ends on a count or on a deadline, and every child exits by
// itself at its own deadline or when its parent is gone; nothing asserts
// timing.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shmbus/shmbus/ipc"
)

const (
	xpRoleEnv = "SHMBUS_RING_XPROC_ROLE" // the child's role (xpRoles)
	xpArgsEnv = "SHMBUS_RING_XPROC_ARGS" // its xpArgs, as JSON

	xpSegName      = "ring"
	xpChildTimeout = 50 * time.Second // a child gives up by itself after this
	xpTestBudget   = 40 * time.Second // the most a test waits for anything
)

// xpErrStopped ends a loop that ran into its deadline or lost its peer.
var xpErrStopped = errors.New("stopped: deadline passed or peer gone")

// ---------------------------------------------------------------------------
// The test record: a 16-byte head and 0..300 filler bytes, every byte
// derived from (stream, seq), so a reader can check all of it:
//
//	+0        +8         +12      +16
//	| seq u64 | stream u32 | sum u32 | filler: xpRecSize(stream, seq) - 16 bytes ... |
//
// sum is FNV-1a over every byte but its own four. A stream is one producer's
// sequence; seq counts from 0 within it.

const (
	xpType      uint16 = 7
	xpHead             = 16
	xpMaxFill          = 300
	xpMaxRecord        = xpHead + xpMaxFill
)

// xpMix is splitmix64 of (stream, seq): the filler's length and bytes.
func xpMix(stream uint32, seq uint64) uint64 {
	z := seq + uint64(stream)<<52 + 0x9E3779B97F4A7C15
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// xpRecSize is the payload size of record (stream, seq).
func xpRecSize(stream uint32, seq uint64) int {
	return xpHead + int(xpMix(stream, seq)%(xpMaxFill+1))
}

func xpFillByte(m uint64, i int) byte { return byte(m>>(i%8*8)) ^ byte(i) }

func xpSum(b []byte) uint32 {
	h := uint32(2166136261)
	for i, c := range b {
		if i < 12 || i >= 16 {
			h = (h ^ uint32(c)) * 16777619
		}
	}
	return h
}

// xpPutRecord fills b, which is xpRecSize(stream, seq) bytes, with the record.
func xpPutRecord(b []byte, stream uint32, seq uint64) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], seq)
	le.PutUint32(b[8:], stream)
	m := xpMix(stream, seq)
	for i := xpHead; i < len(b); i++ {
		b[i] = xpFillByte(m, i)
	}
	le.PutUint32(b[12:], xpSum(b))
}

// xpCheckRecord decodes a record and checks every byte of it.
func xpCheckRecord(b []byte) (stream uint32, seq uint64, err error) {
	if len(b) < xpHead {
		return 0, 0, fmt.Errorf("%d-byte payload, shorter than the %d-byte record head", len(b), xpHead)
	}
	le := binary.LittleEndian
	seq, stream = le.Uint64(b[0:]), le.Uint32(b[8:])
	if want := xpRecSize(stream, seq); len(b) != want {
		return stream, seq, fmt.Errorf("stream %d seq %d: %d bytes, want %d", stream, seq, len(b), want)
	}
	if got, want := le.Uint32(b[12:]), xpSum(b); got != want {
		return stream, seq, fmt.Errorf("stream %d seq %d: checksum %#x, computed %#x", stream, seq, got, want)
	}
	m := xpMix(stream, seq)
	for i := xpHead; i < len(b); i++ {
		if b[i] != xpFillByte(m, i) {
			return stream, seq, fmt.Errorf("stream %d seq %d: byte %d is %#x, want %#x", stream, seq, i, b[i], xpFillByte(m, i))
		}
	}
	return stream, seq, nil
}

// xpChecker checks records as one SPSC consumer sees them: each intact, seq
// consecutive within a stream and, when switches is set, a later stream (a
// replacement producer) starting at seq 0 after the current one, which may
// stop anywhere (its producer died).
type xpChecker struct {
	stream   uint32 // the current stream
	next     uint64 // the seq expected next in it
	anyFirst bool   // the first record may have any seq (attached mid-stream)
	switches bool

	then func(seq uint64) // if set: called after each accepted record

	n     int // records accepted
	first uint64
	count map[uint32]int
	err   error // the first bad record; nothing is accepted after it
}

func (k *xpChecker) handle(typ, _ uint16, p []byte) {
	if k.err != nil {
		return
	}
	stream, seq, err := xpCheckRecord(p)
	switch {
	case err != nil:
	case typ != xpType:
		err = fmt.Errorf("type %d, want %d", typ, xpType)
	case stream == k.stream && (seq == k.next || k.n == 0 && k.anyFirst):
	case k.switches && stream > k.stream && seq == 0:
		k.stream = stream
	default:
		err = fmt.Errorf("stream %d seq %d, want stream %d seq %d", stream, seq, k.stream, k.next)
	}
	if err != nil {
		k.err = fmt.Errorf("record %d: %w", k.n, err)
		return
	}
	if k.n == 0 {
		k.first = seq
	}
	if k.count == nil {
		k.count = map[uint32]int{}
	}
	k.count[stream]++
	k.next = seq + 1
	k.n++
	if k.then != nil {
		k.then(seq)
	}
}

// upTo is a stop condition for xpReadSPSC: n records accepted.
func (k *xpChecker) upTo(n int) func() bool { return func() bool { return k.n >= n } }

// xpSink collects what one MPMC consumer gets, as stream<<48 | seq, checking
// that each record is intact and each stream's records come in order.
type xpSink struct {
	got  []uint64
	next map[uint32]uint64
	err  error
}

func (s *xpSink) handle(typ, _ uint16, p []byte) {
	if s.err != nil {
		return
	}
	stream, seq, err := xpCheckRecord(p)
	if err == nil && typ != xpType {
		err = fmt.Errorf("type %d, want %d", typ, xpType)
	}
	if err == nil && seq < s.next[stream] {
		err = fmt.Errorf("stream %d: seq %d after seq %d", stream, seq, s.next[stream]-1)
	}
	if err != nil {
		s.err = fmt.Errorf("record %d: %w", len(s.got), err)
		return
	}
	if s.next == nil {
		s.next = map[uint32]uint64{}
	}
	s.next[stream] = seq + 1
	s.got = append(s.got, uint64(stream)<<48|seq)
}

// ---------------------------------------------------------------------------
// Reading and writing loops, shared by parents and children.

// xpSPSCWriter writes stream's records into an SPSC ring, publishing each
// with Commit or, with batch > 1, up to batch of them with CommitDeferred and
// one publish, now and then flushing the batch around the next open claim.
// It waits for room with a Backoff, after flushing (a deferred batch the
// consumer cannot see would never make room).
type xpSPSCWriter struct {
	p      *Producer
	stream uint32
	batch  int
	rng    *rand.Rand // needed with batch > 1 or hold
	stop   func() bool
	hold   time.Duration         // if set: keep each claim open up to this long, like a slow fill
	at     func(seq, pos uint64) // if set: told where each record starts
	idle   ipc.Backoff
}

// claim claims n bytes, waiting for room; flush says whether to publish the
// deferred records first.
func (w *xpSPSCWriter) claim(n int, flush bool) ([]byte, error) {
	for polls := 0; ; polls++ {
		buf, err := w.p.Claim(xpType, n)
		if err == nil {
			w.idle.Reset()
			return buf, nil
		}
		if !errors.Is(err, ErrFull) {
			return nil, err
		}
		if flush {
			w.p.Flush()
		}
		if polls%64 == 63 && w.stop() {
			return nil, fmt.Errorf("waiting for room: %w", xpErrStopped)
		}
		w.idle.Idle(w.p)
	}
}

// write writes records from..from+n-1 and publishes them.
func (w *xpSPSCWriter) write(from uint64, n int) error {
	for i := 0; i < n; i++ {
		seq := from + uint64(i)
		size := xpRecSize(w.stream, seq)
		buf, err := w.claim(size, true)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		if w.batch > 1 && w.rng.IntN(2*w.batch) == 0 {
			w.p.Flush() // publishes the batch so far, this claim still open
		}
		xpPutRecord(buf, w.stream, seq)
		if w.hold > 0 {
			for until := time.Now().Add(time.Duration(w.rng.Int64N(int64(w.hold)))); time.Now().Before(until); {
			}
		}
		if w.at != nil {
			w.at(seq, w.p.tail-uint64(align(HeaderLength+size, RecordAlignment)))
		}
		if w.batch > 1 && w.rng.IntN(w.batch) != 0 {
			w.p.CommitDeferred()
		} else {
			w.p.Commit()
		}
		if i%256 == 255 && w.stop() {
			w.p.Flush()
			return fmt.Errorf("after record %d: %w", seq, xpErrStopped)
		}
	}
	w.p.Flush()
	return nil
}

// xpReadSPSC reads into k until done, never past most records in all when
// most > 0, waiting with a Backoff. after runs after each read that handed
// over records. It fails on a bad record, on ErrCorrupt, or when stop says
// so and nothing is ready.
func xpReadSPSC(c *Consumer, k *xpChecker, done func() bool, most int, stop func() bool, after func()) error {
	idle := ipc.Backoff{MaxPark: 10 * time.Millisecond}
	for polls := 0; !done() && (most <= 0 || k.n < most); polls++ {
		limit := 0
		if most > 0 {
			limit = most - k.n
		}
		n := c.Read(k.handle, limit)
		if err := errors.Join(k.err, c.Err()); err != nil {
			return err
		}
		if n > 0 {
			if after != nil {
				after()
			}
			idle.Reset()
			continue
		}
		if polls%64 == 63 && stop() && !c.Ready() {
			return fmt.Errorf("after %d records: %w", k.n, xpErrStopped)
		}
		idle.Idle(c)
	}
	return nil
}

// xpWriteMPMC writes stream's records 0..n-1 into an MPMC ring.
func xpWriteMPMC(p *MPMCProducer, stream uint32, n int, stop func() bool) error {
	idle := ipc.Backoff{MaxPark: 10 * time.Millisecond}
	for seq, polls := uint64(0), 0; seq < uint64(n); polls++ {
		buf, err := p.Claim(xpType, xpRecSize(stream, seq))
		switch {
		case err == nil:
			xpPutRecord(buf, stream, seq)
			if err := p.Commit(); err != nil {
				return fmt.Errorf("record %d: %w", seq, err)
			}
			seq++
			idle.Reset()
		case errors.Is(err, ErrFull):
			if polls%64 == 63 && stop() {
				return fmt.Errorf("record %d: waiting for room: %w", seq, xpErrStopped)
			}
			idle.Idle(p)
		default:
			return fmt.Errorf("record %d: %w", seq, err)
		}
	}
	return nil
}

// xpReadMPMC reads into h until done (asked after each empty read).
func xpReadMPMC(c *MPMCConsumer, h Handler, done, stop func() bool) error {
	idle := ipc.Backoff{MaxPark: 10 * time.Millisecond}
	for polls := 0; ; polls++ {
		if c.Read(h, 0) > 0 {
			idle.Reset()
			continue
		}
		if err := c.Err(); err != nil {
			return err
		}
		if done() {
			return nil
		}
		if polls%64 == 63 && stop() {
			return xpErrStopped
		}
		idle.Idle(c)
	}
}

// ---------------------------------------------------------------------------
// The parent side.

// xpProc is a child process seen from the parent.
type xpProc struct {
	role  string
	cmd   *exec.Cmd
	out   xpLines
	errb  xpBuffer
	stdin io.WriteCloser
	seen  int // stdout lines already matched or skipped by expect

	done chan struct{} // closed once the child is reaped
	err  error         // cmd.Wait's result, valid once done is closed
}

// xpStart starts the test binary as a child playing role. The child is
// killed (by PID) and reaped at the end of the test if still running.
func xpStart(t *testing.T, role string, a xpArgs) *xpProc {
	t.Helper()
	if a.Timeout == 0 {
		a.Timeout = xpChildTimeout
	}
	js, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^TestChildMain$")
	cmd.Env = append(os.Environ(), xpRoleEnv+"="+role, xpArgsEnv+"="+string(js),
		// Under -race a child would otherwise sleep a second at exit.
		"GORACE="+strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	c := &xpProc{role: role, cmd: cmd, done: make(chan struct{})}
	c.out.notify = make(chan struct{}, 1)
	cmd.Stdout, cmd.Stderr = &c.out, &c.errb
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s child: %v", role, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill(t) })
	return c
}

func (c *xpProc) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *xpProc) String() string {
	return fmt.Sprintf("%s child (pid %d)", c.role, c.cmd.Process.Pid)
}

// kill sends SIGKILL to the child, by PID, unless it is gone, and reaps it.
func (c *xpProc) kill(t testing.TB) {
	if c.exited() {
		return
	}
	if err := c.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill %v: %v", c, err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%v not reaped 10 s after SIGKILL", c)
	}
}

// mustKill kills the child, which must still be running, and reaps it.
func (c *xpProc) mustKill(t *testing.T) {
	t.Helper()
	if c.exited() {
		t.Fatalf("%v exited before it was killed: %v; stderr:\n%s", c, c.err, c.errb.String())
	}
	c.kill(t)
	var ee *exec.ExitError
	if !errors.As(c.err, &ee) {
		t.Fatalf("%v ended with %v, want death by SIGKILL; stderr:\n%s", c, c.err, c.errb.String())
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%v ended with %v, want death by SIGKILL; stderr:\n%s", c, c.err, c.errb.String())
	}
}

// wait waits until the child exits by itself, which it must do successfully
// before dl.
func (c *xpProc) wait(t *testing.T, dl time.Time) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(time.Until(dl)):
		c.kill(t)
		t.Fatalf("%v did not finish by the deadline; stderr:\n%s", c, c.errb.String())
	}
	if c.err != nil {
		t.Fatalf("%v: %v; stderr:\n%s", c, c.err, c.errb.String())
	}
}

// expect waits for the next stdout line whose first word is word (skipping
// others) and returns the rest of it.
func (c *xpProc) expect(t *testing.T, word string, dl time.Time) string {
	t.Helper()
	timer := time.NewTimer(time.Until(dl))
	defer timer.Stop()
	for {
		lines := c.out.snapshot()
		for ; c.seen < len(lines); c.seen++ {
			if w, rest, _ := strings.Cut(lines[c.seen], " "); w == word {
				c.seen++
				return rest
			}
		}
		select {
		case <-c.out.notify:
		case <-c.done:
			if len(c.out.snapshot()) == c.seen { // Wait returns after the last output is in
				t.Fatalf("%v exited (%v) without saying %q; stderr:\n%s", c, c.err, word, c.errb.String())
			}
		case <-timer.C:
			t.Fatalf("%v did not say %q by the deadline; stderr:\n%s", c, word, c.errb.String())
		}
	}
}

// expectInt is expect for a line carrying one number.
func (c *xpProc) expectInt(t *testing.T, word string, dl time.Time) int {
	t.Helper()
	s := c.expect(t, word, dl)
	v, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%v said %q %q: %v", c, word, s, err)
	}
	return v
}

// lastInt returns the number on the last stdout line starting with word
// said so far, or -1.
func (c *xpProc) lastInt(word string) int {
	lines := c.out.snapshot()
	for i := len(lines) - 1; i >= 0; i-- {
		if w, rest, _ := strings.Cut(lines[i], " "); w == word {
			if v, err := strconv.Atoi(rest); err == nil {
				return v
			}
		}
	}
	return -1
}

// xpLines collects a child's stdout as lines.
type xpLines struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	notify  chan struct{} // signalled (without blocking) on every write
}

func (l *xpLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	l.mu.Unlock()
	select {
	case l.notify <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (l *xpLines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines[:len(l.lines):len(l.lines)]
}

// xpBuffer is a bytes.Buffer safe for the exec copier and the test together.
type xpBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *xpBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *xpBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// xpGroup runs the parent's own producer and consumer goroutines. Its
// cleanup, registered after the segment's, stops and joins them before the
// segment is unmapped, even when the test fails half-way.
type xpGroup struct {
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func xpNewGroup(t *testing.T) *xpGroup {
	g := &xpGroup{stop: make(chan struct{})}
	t.Cleanup(g.halt)
	return g
}

func (g *xpGroup) halt() {
	g.once.Do(func() { close(g.stop) })
	g.wg.Wait()
}

func (g *xpGroup) halted() bool {
	select {
	case <-g.stop:
		return true
	default:
		return false
	}
}

// run runs f in a goroutine; its error arrives on the channel.
func (g *xpGroup) run(f func() error) <-chan error {
	errc := make(chan error, 1)
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		errc <- f()
	}()
	return errc
}

// xpWait waits for a goroutine of the group, which must succeed before dl.
func xpWait(t *testing.T, what string, errc <-chan error, dl time.Time) {
	t.Helper()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(time.Until(dl)):
		t.Fatalf("%s: not done by the deadline", what)
	}
}

// xpPoll waits until cond holds, polling every millisecond, before dl.
func xpPoll(t *testing.T, what string, dl time.Time, cond func() bool) {
	t.Helper()
	for i := 0; i < 1<<20; i++ {
		if cond() {
			return
		}
		if time.Now().After(dl) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%s: not by the deadline", what)
}

// xpStopAt is a stop condition: dl passed, or any of also holds.
func xpStopAt(dl time.Time, also ...func() bool) func() bool {
	return func() bool {
		if time.Now().After(dl) {
			return true
		}
		for _, f := range also {
			if f() {
				return true
			}
		}
		return false
	}
}

// xpDeadline is the test's own deadline: xpTestBudget from now, or earlier
// if go test's -timeout comes first.
func xpDeadline(t *testing.T) time.Time {
	dl := time.Now().Add(xpTestBudget)
	if td, ok := t.Deadline(); ok && td.Add(-5*time.Second).Before(dl) {
		dl = td.Add(-5 * time.Second)
	}
	return dl
}

func xpScale(full, short int) int {
	if testing.Short() {
		return short
	}
	return full
}

// xpNearWrap is the position that many bytes (or slots) short of 2^64.
func xpNearWrap(before uint64) uint64 { return -before }

// xpSegment creates a segment of kind in a fresh temporary directory and
// returns it with the args that name it to a child.
func xpSegment(t *testing.T, kind ipc.Kind, size int) (*ipc.Segment, xpArgs) {
	t.Helper()
	dir := t.TempDir()
	seg, err := ipc.Create(xpSegName, kind, size, ipc.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = seg.Close() })
	return seg, xpArgs{Dir: dir, Name: xpSegName}
}

// xpSPSCSegment makes a segment holding an empty SPSC ring whose positions
// start at start.
func xpSPSCSegment(t *testing.T, capacity int, start uint64) (*ipc.Segment, xpArgs) {
	t.Helper()
	seg, a := xpSegment(t, ipc.KindSPSC, SPSCSize(capacity))
	b := seg.Data()
	if err := InitSPSC(b, capacity); err != nil {
		t.Fatal(err)
	}
	r := newRegion(b)
	r.store64(spscHeadOffset, start)
	r.store64(spscTailOffset, start)
	return seg, a
}

// xpMPMCSegment makes a segment holding an empty MPMC ring (payloads up to
// xpMaxRecord) whose positions start at start: each slot's sequence number
// is the position that maps to it, as after start records went through.
func xpMPMCSegment(t *testing.T, slots int, start uint64) (*ipc.Segment, xpArgs) {
	t.Helper()
	seg, a := xpSegment(t, ipc.KindMPMC, MPMCSize(slots, xpMaxRecord))
	b := seg.Data()
	if err := InitMPMC(b, slots, xpMaxRecord); err != nil {
		t.Fatal(err)
	}
	r, ss := newRegion(b), MPMCSlotSize(xpMaxRecord)
	for j := uint64(0); j < uint64(slots); j++ {
		pos := start + j
		r.store64(mpmcSlotsOffset+int(pos%uint64(slots))*ss+slotSeqOffset, pos)
	}
	r.store64(mpmcEnqueueOffset, start)
	r.store64(mpmcDequeueOffset, start)
	return seg, a
}

func xpSPSCStats(t *testing.T, b []byte) SPSCStats {
	t.Helper()
	s, err := ReadSPSCStats(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func xpMPMCStats(t *testing.T, b []byte) MPMCStats {
	t.Helper()
	s, err := ReadMPMCStats(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// xpCheckExactlyOnce checks what several MPMC consumers got (stream<<48|seq
// words): every record of every stream (want: stream -> count) exactly once
// across them all, and each stream in order within each consumer.
func xpCheckExactlyOnce(t *testing.T, got [][]uint64, want map[uint32]int) {
	t.Helper()
	seen := map[uint32][]uint8{}
	for s, n := range want {
		seen[s] = make([]uint8, n)
	}
	bad := 0
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for ci, list := range got {
		last := map[uint32]uint64{}
		for i, e := range list {
			s, q := uint32(e>>48), e&(1<<48-1)
			switch prev, ok := last[s]; {
			case q >= uint64(want[s]):
				fail("consumer %d, record %d: stream %d seq %d was never written", ci, i, s, q)
				continue
			case ok && q <= prev:
				fail("consumer %d, record %d: stream %d seq %d after seq %d", ci, i, s, q, prev)
			}
			last[s] = q
			if seen[s][q]++; seen[s][q] == 2 {
				fail("stream %d seq %d delivered more than once", s, q)
			}
		}
	}
	for s, marks := range seen {
		for q, m := range marks {
			if m == 0 {
				fail("stream %d seq %d never delivered", s, q)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... and %d more", bad-10)
	}
}

// ---------------------------------------------------------------------------
// Tests.

// TestCrossProcessSPSC streams records of random sizes (16..316 bytes)
// through a 4 KiB SPSC ring from one process to another, in both directions.
// The buffer wraps thousands of times and the 64-bit positions start just
// short of 2^64, so they wrap too. Every record must arrive exactly once, in
// order and intact, and nothing else may arrive.
func TestCrossProcessSPSC(t *testing.T) {
	const capacity = 4 << 10
	n := xpScale(100_000, 10_000)
	start := xpNearWrap(256 << 10)

	t.Run("child-produces", func(t *testing.T) {
		dl := xpDeadline(t)
		seg, a := xpSPSCSegment(t, capacity, start)
		b := seg.Data()
		c, err := NewConsumer(b)
		if err != nil {
			t.Fatal(err)
		}
		a.Stream, a.N, a.Batch, a.Seed = 1, n, 8, rand.Uint64()
		child := xpStart(t, "spsc-produce", a)
		k := &xpChecker{stream: 1}
		if err := xpReadSPSC(c, k, k.upTo(n), 0, xpStopAt(dl, child.exited), nil); err != nil {
			t.Fatalf("consumer: %v; %v stderr:\n%s", err, child, child.errb.String())
		}
		child.wait(t, dl)
		if m := c.Read(k.handle, 0); m != 0 || k.n != n {
			t.Fatalf("consumer got %d records, then %d more; want exactly %d", k.n, m, n)
		}
		if s := xpSPSCStats(t, b); s.Head != s.Tail || s.Head-start == 0 || s.ProducerAttach != 1 {
			t.Fatalf("stats %+v: want head == tail, moved from %d, one producer attach", s, start)
		}
	})

	t.Run("child-consumes", func(t *testing.T) {
		dl := xpDeadline(t)
		seg, a := xpSPSCSegment(t, capacity, start)
		b := seg.Data()
		p, err := NewProducer(b)
		if err != nil {
			t.Fatal(err)
		}
		a.Stream, a.N = 2, n
		child := xpStart(t, "spsc-consume", a)
		w := &xpSPSCWriter{p: p, stream: 2, batch: 8, rng: rand.New(rand.NewPCG(rand.Uint64(), 0)), stop: xpStopAt(dl, child.exited)}
		if err := w.write(0, n); err != nil {
			t.Fatalf("producer: %v; %v stderr:\n%s", err, child, child.errb.String())
		}
		child.wait(t, dl)
		if got := child.expectInt(t, "result", dl); got != n {
			t.Fatalf("child consumer got %d records, want %d", got, n)
		}
		if s := xpSPSCStats(t, b); s.Head != s.Tail || s.ConsumerAttach != 1 {
			t.Fatalf("stats %+v: want head == tail (all consumed, nothing more) and one consumer attach", s)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCrossProcessMPMC runs two producer processes and two consumer
// processes over one 16-slot MPMC ring whose positions start just short of
// 2^56, where the position field of a slot's owner word wraps. Every record
// must reach exactly one consumer, intact, and each consumer must see each
// producer's records in order.
func TestCrossProcessMPMC(t *testing.T) {
	const slots = 16
	n := xpScale(50_000, 5_000)
	start := uint64(1<<56 - 1000)
	dl := xpDeadline(t)
	seg, a := xpMPMCSegment(t, slots, start)
	b := seg.Data()

	var consumers, producers []*xpProc
	for i := 0; i < 2; i++ {
		ca := a
		ca.Out = filepath.Join(a.Dir, fmt.Sprintf("consumer%d.out", i))
		consumers = append(consumers, xpStart(t, "mpmc-consume", ca))
	}
	for i := 0; i < 2; i++ {
		pa := a
		pa.Stream, pa.N = uint32(i+1), n
		producers = append(producers, xpStart(t, "mpmc-produce", pa))
	}
	for _, p := range producers {
		p.wait(t, dl)
	}
	xpPoll(t, "consumers take every record", dl, func() bool {
		s := xpMPMCStats(t, b)
		return s.Dequeued == s.Enqueued
	})
	for _, c := range consumers {
		_ = c.stdin.Close() // "the producers are done: finish when the ring is empty"
	}
	got := make([][]uint64, len(consumers))
	for i, c := range consumers {
		c.wait(t, dl)
		raw, err := os.ReadFile(filepath.Join(a.Dir, fmt.Sprintf("consumer%d.out", i)))
		if err != nil {
			t.Fatal(err)
		}
		for j := 0; j+8 <= len(raw); j += 8 {
			got[i] = append(got[i], binary.LittleEndian.Uint64(raw[j:]))
		}
		if said := c.expectInt(t, "result", dl); said != len(got[i]) {
			t.Fatalf("consumer %d said it got %d records, wrote %d", i, said, len(got[i]))
		}
	}
	t.Logf("consumers got %d and %d records", len(got[0]), len(got[1]))
	xpCheckExactlyOnce(t, got, map[uint32]int{1: n, 2: n})
	if s := xpMPMCStats(t, b); s.Enqueued-start != uint64(2*n) || s.Dequeued != s.Enqueued || s.RecoveredClaims != 0 {
		t.Fatalf("stats %+v: want %d records through from position %d, none recovered", s, 2*n, start)
	}
}
