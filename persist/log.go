package persist

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Log is one segmented, append-only journal in its own directory. Append
// hands records to a writer goroutine; the durability policy decides when
// they are confirmed. Readers (NewReader) see every record the writer has
// written, while appends go on.
//
// Invariants:
//  1. Sequence numbers are assigned by Append under mu, contiguous from the
//     first ever written; time stamps never decrease with them.
//  2. The writer is the only goroutine that writes the active segment; the
//     maintenance paths (compression, retention, queue compaction) only
//     replace or delete sealed segments, under maintMu, through a temporary
//     file and a rename, so a crash leaves the old file or the new one.
//  3. written <= the highest sequence in the files; a segment's size (under
//     segMu) is raised before written, so a reader that sees written sees
//     the bytes.
//  4. synced <= written; confirmed is written (DurabilityNone) or synced.
//
// Lock order: maintMu, then mu, then segMu, then nmu, then repMu.
type Log struct {
	dir string
	o   options
	log *slog.Logger

	mu       sync.Mutex
	space    sync.Cond // appenders blocked on MaxPending; broadcast by the writer
	nextSeq  uint64
	lastTime int64
	pend     *batch // records appended, not yet taken by the writer
	free     *batch // the writer's spare, nil while the writer holds it
	syncReq  uint64 // Sync asked for an fsync covering this sequence
	closed   bool
	failed   error // first write or fsync failure

	kick      chan struct{} // cap 1: wakes the writer
	quit      chan struct{} // closed by Close after the writer exits
	done      chan struct{} // closed when the writer exits
	maintKick chan struct{}
	maintDone chan struct{}

	written   atomic.Uint64 // highest sequence in the files
	synced    atomic.Uint64 // highest sequence fsynced
	confirmed atomic.Uint64 // highest sequence confirmed under the policy

	nmu      sync.Mutex
	advanced chan struct{} // closed (and dropped) when a watermark moves; nil when nobody waits

	segMu sync.RWMutex
	segs  []*segment // ascending base; the last is the active segment

	maintMu sync.Mutex

	repMu       sync.Mutex
	corruptions []Corruption

	st counters
	w  writerState // owned by the writer goroutine (and Open before it starts)
}

// segment is one segment file as the Log knows it.
type segment struct {
	base uint64
	path string

	// Guarded by Log.segMu.
	size      int64 // bytes of the records area (uncompressed) that are complete
	fileSize  int64
	sealed    bool
	codec     Codec
	records   int64  // -1: not counted (sealed segment not scanned since Open)
	lastSeq   uint64 // 0: unknown or empty
	firstTime int64  // 0: unknown or empty
	index     []indexEntry
	indexed   bool // index covers the whole (sealed) segment
}

// indexEntry is one point of the sparse index: the record with seq starts
// at off in the records area.
type indexEntry struct {
	seq  uint64
	time int64
	off  int64
}

// batch is a run of framed records on its way to the writer.
type batch struct {
	buf  []byte
	cbs  []pendingCB
	n    int
	last uint64
}

type pendingCB struct {
	seq uint64
	fn  func(seq uint64, err error)
}

// Corruption is a run of bad bytes found in a segment: a torn tail that
// Open truncated (Torn), or corruption skipped under WithSkipCorruption.
type Corruption struct {
	File   string
	Offset int64 // byte offset in the file (records area offset for compressed segments)
	Length int64
	Torn   bool
	Err    error
}

func (c Corruption) String() string {
	kind := "corrupt"
	if c.Torn {
		kind = "torn tail"
	}
	return fmt.Sprintf("%s: %s at offset %d, %d bytes: %v", c.File, kind, c.Offset, c.Length, c.Err)
}

// Open opens (creating if needed) the log in dir and recovers it: the
// active segment is scanned, a torn tail is truncated (and logged), and
// mid-file corruption is refused with ErrCorrupt unless WithSkipCorruption.
func Open(dir string, opts ...Option) (*Log, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	l := &Log{
		dir: dir, o: o, log: o.logger,
		pend: &batch{}, free: &batch{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		maintKick: make(chan struct{}, 1), maintDone: make(chan struct{}),
	}
	l.space.L = &l.mu
	if err := l.recover(); err != nil {
		l.w.close()
		return nil, err
	}
	go l.writer()
	go l.maintainer()
	l.kickMaint()
	return l, nil
}

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// Append hands a record to the writer and returns its sequence number
// without waiting for the disk (it blocks only while MaxPending bytes wait
// for the writer). It does not allocate once the buffers have grown. typ
// must not be 0.
func (l *Log) Append(typ uint8, payload []byte) (uint64, error) {
	return l.AppendNotify(typ, payload, nil)
}

// AppendNotify is Append with a confirmation: done (if not nil) is called
// once the record is confirmed under the durability policy, or with the
// error that lost it. done runs on the writer goroutine: it must be quick
// and must not call methods of the Log that wait (Append under backpressure,
// Sync, Close).
func (l *Log) AppendNotify(typ uint8, payload []byte, done func(seq uint64, err error)) (uint64, error) {
	if typ == 0 {
		return 0, ErrBadType
	}
	if len(payload) > l.o.maxRecord {
		return 0, fmt.Errorf("%w: %d bytes, max %d", ErrTooLarge, len(payload), l.o.maxRecord)
	}
	l.mu.Lock()
	for len(l.pend.buf) >= l.o.maxPending && !l.closed && l.failed == nil {
		l.space.Wait()
	}
	if err := l.stateLocked(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	ts := time.Now().UnixNano()
	if ts < l.lastTime {
		ts = l.lastTime
	}
	l.lastTime = ts
	seq := l.nextSeq
	l.nextSeq++
	b := l.pend
	b.buf = appendRecord(b.buf, typ, seq, ts, payload)
	b.n++
	b.last = seq
	if done != nil {
		b.cbs = append(b.cbs, pendingCB{seq: seq, fn: done})
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return seq, nil
}

func (l *Log) stateLocked() error {
	if l.failed != nil {
		return l.failed
	}
	if l.closed {
		return ErrClosed
	}
	return nil
}

// LastSeq returns the sequence number of the last record appended (0 if
// none ever was).
func (l *Log) LastSeq() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nextSeq - 1
}

// Written returns the highest sequence number the writer has written to
// the files (what readers can see).
func (l *Log) Written() uint64 { return l.written.Load() }

// Durable returns the highest sequence number fsynced.
func (l *Log) Durable() uint64 { return l.synced.Load() }

// Confirmed returns the highest sequence number confirmed under the
// durability policy (Written for DurabilityNone, Durable otherwise).
func (l *Log) Confirmed() uint64 { return l.confirmed.Load() }

// Changed returns a channel closed the next time Written, Durable or
// Confirmed moves (or the log fails or closes). Take it before checking the
// state, then wait on it: no advance can be missed.
func (l *Log) Changed() <-chan struct{} {
	l.nmu.Lock()
	defer l.nmu.Unlock()
	if l.advanced == nil {
		l.advanced = make(chan struct{})
	}
	return l.advanced
}

func (l *Log) notify() {
	l.nmu.Lock()
	if l.advanced != nil {
		close(l.advanced)
		l.advanced = nil
	}
	l.nmu.Unlock()
}

// WaitConfirmed waits until seq is confirmed under the durability policy.
func (l *Log) WaitConfirmed(ctx context.Context, seq uint64) error {
	return l.waitFor(ctx, &l.confirmed, seq)
}

// Flush waits until every record appended so far is written to the files
// (visible to readers), without asking for an fsync.
func (l *Log) Flush(ctx context.Context) error {
	return l.waitFor(ctx, &l.written, l.LastSeq())
}

// Sync forces an fsync covering every record appended so far, whatever the
// policy, and waits for it. Concurrent calls share fsyncs.
func (l *Log) Sync(ctx context.Context) error {
	l.mu.Lock()
	target := l.nextSeq - 1
	if target > l.syncReq {
		l.syncReq = target
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	return l.waitFor(ctx, &l.synced, target)
}

func (l *Log) waitFor(ctx context.Context, mark *atomic.Uint64, seq uint64) error {
	for {
		ch := l.Changed()
		if mark.Load() >= seq {
			return nil
		}
		l.mu.Lock()
		err := l.failed
		closed := l.closed
		l.mu.Unlock()
		if err != nil {
			return err
		}
		if closed && isClosed(l.done) && mark.Load() < seq {
			return ErrClosed
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// Close stops accepting records, writes and fsyncs everything appended
// (whatever the policy), fires the pending confirmations and closes the
// files. It returns the log's failure, if it had one.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		<-l.maintDone
		return l.failedErr()
	}
	l.closed = true
	l.space.Broadcast()
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	<-l.done
	close(l.quit)
	<-l.maintDone
	l.notify()
	return l.failedErr()
}

func (l *Log) failedErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.failed
}

// fail records the first failure; later appends return it.
func (l *Log) fail(err error) error {
	l.mu.Lock()
	if l.failed == nil {
		l.failed = fmt.Errorf("%w: %s: %w", ErrFailed, l.dir, err)
		l.log.Error("persist: journal failed", "dir", l.dir, "err", err)
	}
	err = l.failed
	l.space.Broadcast()
	l.mu.Unlock()
	l.notify()
	return err
}

// Corruptions returns the torn tails truncated by Open and the corrupt
// ranges skipped (WithSkipCorruption) so far, each once.
func (l *Log) Corruptions() []Corruption {
	l.repMu.Lock()
	defer l.repMu.Unlock()
	return append([]Corruption(nil), l.corruptions...)
}

// report records c (once per file and offset) and logs it.
func (l *Log) report(c Corruption) {
	l.repMu.Lock()
	for _, d := range l.corruptions {
		if d.File == c.File && d.Offset == c.Offset {
			l.repMu.Unlock()
			return
		}
	}
	l.corruptions = append(l.corruptions, c)
	l.repMu.Unlock()
	msg := "persist: skipping corrupt records"
	if c.Torn {
		msg = "persist: truncating torn tail"
	}
	l.log.Warn(msg, "file", c.File, "offset", c.Offset, "bytes", c.Length, "err", c.Err)
}

// segmentsSnapshot returns the current segment list (the slice is not
// shared with later changes).
func (l *Log) segmentsSnapshot() []*segment {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	return append([]*segment(nil), l.segs...)
}
