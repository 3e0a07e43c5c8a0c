package persist

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// writerState is owned by the writer goroutine (and by Open before the
// writer starts).
type writerState struct {
	f         *os.File
	seg       *segment
	size      int64 // records area bytes written to seg
	nextIndex int64 // records area offset at which the next index entry is due
	unsynced  int64 // bytes written since the last fsync
	lastSync  time.Time
	dirDirty  bool        // a segment was created since the directory was fsynced
	waiting   []pendingCB // written, waiting for an fsync (Batch, Sync)
	err       error       // first failure: nothing more is written
}

func (w *writerState) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

type counters struct {
	appends, bytes, batches, fsyncs, syncedRecords atomic.Uint64
}

// Stats are the log's counters since Open.
type Stats struct {
	Records  uint64 // records written
	Bytes    uint64 // bytes written (framing included)
	Batches  uint64 // writes the writer made (one per batch and segment)
	Fsyncs   uint64 // fsyncs of segment files
	Synced   uint64 // records made durable by those fsyncs
	Segments int
	// RecordsPerFsync is Synced/Fsyncs: how many records shared an fsync.
	RecordsPerFsync  float64
	Written, Durable uint64 // watermarks
}

// Stats returns the counters.
func (l *Log) Stats() Stats {
	s := Stats{
		Records: l.st.appends.Load(), Bytes: l.st.bytes.Load(), Batches: l.st.batches.Load(),
		Fsyncs: l.st.fsyncs.Load(), Synced: l.st.syncedRecords.Load(),
		Written: l.written.Load(), Durable: l.synced.Load(),
	}
	if s.Fsyncs > 0 {
		s.RecordsPerFsync = float64(s.Synced) / float64(s.Fsyncs)
	}
	l.segMu.RLock()
	s.Segments = len(l.segs)
	l.segMu.RUnlock()
	return s
}

// writer is the writer goroutine: it takes the pending batch, writes it,
// fsyncs when the policy says so and fires confirmations. It exits after
// Close, once everything appended is written and fsynced.
func (l *Log) writer() {
	defer close(l.done)
	defer l.w.close()
	w := &l.w
	w.lastSync = time.Now()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-l.kick:
		case <-timer.C:
		}
		l.mu.Lock()
		b := l.pend
		l.pend, l.free = l.free, nil
		syncReq, closing := l.syncReq, l.closed
		l.space.Broadcast()
		l.mu.Unlock()

		writtenBefore, syncedBefore := l.written.Load(), l.synced.Load()
		if w.err == nil {
			if err := l.writeBatch(b); err != nil {
				w.err = l.fail(err)
			}
		}
		if l.o.durability == DurabilityNone {
			l.confirmed.Store(l.written.Load())
			l.fire(b.cbs, w.err)
		} else {
			w.waiting = append(w.waiting, b.cbs...)
		}
		if l.needSync(syncReq, closing) {
			if err := l.fsync(); err != nil {
				w.err = l.fail(err)
			}
		} else if l.o.durability == DurabilityBatch && w.err == nil && w.unsynced > 0 {
			timer.Reset(max(l.o.batchInterval-time.Since(w.lastSync), 0))
		}
		if l.o.durability != DurabilityNone && (w.err != nil || l.synced.Load() >= l.written.Load()) {
			l.fire(w.waiting, w.err)
			clear(w.waiting)
			w.waiting = w.waiting[:0]
		}
		if l.written.Load() != writtenBefore || l.synced.Load() != syncedBefore || w.err != nil {
			l.notify()
		}

		clear(b.cbs)
		b.buf, b.cbs, b.n, b.last = b.buf[:0], b.cbs[:0], 0, 0
		l.mu.Lock()
		l.free = b
		l.mu.Unlock()
		if closing {
			l.fire(w.waiting, w.err)
			return
		}
	}
}

// needSync says whether the writer fsyncs now. Writer only.
func (l *Log) needSync(syncReq uint64, closing bool) bool {
	w := &l.w
	if w.err != nil {
		return false
	}
	if closing || syncReq > l.synced.Load() {
		return w.unsynced > 0 || l.synced.Load() < l.written.Load()
	}
	switch l.o.durability {
	case DurabilitySync:
		return w.unsynced > 0
	case DurabilityBatch:
		return w.unsynced >= l.o.batchBytes || (w.unsynced > 0 && time.Since(w.lastSync) >= l.o.batchInterval)
	}
	return false
}

func (l *Log) fire(cbs []pendingCB, err error) {
	for _, c := range cbs {
		c.fn(c.seq, err)
	}
}

// writeBatch writes b's records to the active segment, sealing it and
// starting a new one whenever the next record would not fit. Writer only.
func (l *Log) writeBatch(b *batch) error {
	if b.n == 0 {
		return nil
	}
	w := &l.w
	limit := l.o.segmentSize - segmentHeaderSize
	buf := b.buf
	start, pos := 0, 0
	var firstTime int64
	var count int64
	for pos < len(buf) {
		n, seq, ts := peekRecord(buf[pos:])
		at := w.size + int64(pos-start)
		if at > 0 && at+int64(n) > limit {
			if err := l.writeChunk(buf[start:pos], firstTime, count); err != nil {
				return err
			}
			if err := l.roll(seq); err != nil {
				return err
			}
			start, count, at = pos, 0, 0
		}
		if count == 0 {
			firstTime = ts
		}
		if at >= w.nextIndex {
			l.segMu.Lock()
			w.seg.index = append(w.seg.index, indexEntry{seq: seq, time: ts, off: at})
			l.segMu.Unlock()
			w.nextIndex = at + l.o.indexInterval
		}
		count++
		pos += n
	}
	if err := l.writeChunk(buf[start:], firstTime, count); err != nil {
		return err
	}
	l.written.Store(b.last)
	return nil
}

// writeChunk writes whole records to the end of the active segment and
// publishes them to readers (segment size first, then written).
func (l *Log) writeChunk(data []byte, firstTime int64, count int64) error {
	if len(data) == 0 {
		return nil
	}
	w := &l.w
	if _, err := w.f.WriteAt(data, segmentHeaderSize+w.size); err != nil {
		return fmt.Errorf("write %s at %d: %w", w.f.Name(), segmentHeaderSize+w.size, err)
	}
	w.size += int64(len(data))
	w.unsynced += int64(len(data))
	_, last, _ := lastRecord(data)
	if count == 0 {
		return nil
	}
	l.segMu.Lock()
	s := w.seg
	s.size, s.fileSize = w.size, segmentHeaderSize+w.size
	if s.records <= 0 {
		s.records = 0
		s.firstTime = firstTime
	}
	s.records += count
	s.lastSeq = last
	l.segMu.Unlock()
	l.st.appends.Add(uint64(count))
	l.st.bytes.Add(uint64(len(data)))
	l.st.batches.Add(1)
	return nil
}

// lastRecord walks well-formed records and returns the last one's offset
// and sequence.
func lastRecord(data []byte) (int, uint64, int64) {
	off, lastOff := 0, 0
	var seq uint64
	var ts int64
	for off < len(data) {
		var n int
		n, seq, ts = peekRecord(data[off:])
		lastOff = off
		off += n
	}
	return lastOff, seq, ts
}

// fsync makes everything written durable. Writer only.
func (l *Log) fsync() error {
	w := &l.w
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", w.f.Name(), err)
	}
	if w.dirDirty {
		if err := syncDir(l.dir); err != nil {
			return fmt.Errorf("fsync %s: %w", l.dir, err)
		}
		w.dirDirty = false
	}
	written := l.written.Load()
	l.st.fsyncs.Add(1)
	l.st.syncedRecords.Add(written - l.synced.Load())
	l.synced.Store(written)
	if l.o.durability != DurabilityNone {
		l.confirmed.Store(written)
	}
	w.unsynced = 0
	w.lastSync = time.Now()
	return nil
}

// roll seals the active segment (fsynced, so a sealed segment is never
// torn) and starts a new one whose first record will be seq.
func (l *Log) roll(seq uint64) error {
	w := &l.w
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", w.f.Name(), err)
	}
	l.st.fsyncs.Add(1)
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", w.f.Name(), err)
	}
	w.f = nil
	l.segMu.Lock()
	w.seg.sealed = true
	l.segMu.Unlock()
	if err := l.startSegment(seq); err != nil {
		return err
	}
	l.kickMaint()
	return nil
}

// startSegment creates the segment for base and makes it active.
func (l *Log) startSegment(base uint64) error {
	w := &l.w
	path := filepath.Join(l.dir, segmentName(base))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("create segment: %w", err)
	}
	hdr := segHeader{base: base, created: time.Now().UnixNano()}.encode()
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		return fmt.Errorf("write %s header: %w", path, err)
	}
	s := &segment{base: base, path: path, fileSize: segmentHeaderSize}
	l.segMu.Lock()
	l.segs = append(l.segs, s)
	l.segMu.Unlock()
	w.f, w.seg, w.size, w.nextIndex, w.dirDirty = f, s, 0, 0, true
	w.unsynced += segmentHeaderSize
	return nil
}
