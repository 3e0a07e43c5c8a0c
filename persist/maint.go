package persist

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// maintainer runs Maintain in the background after each segment is sealed.
func (l *Log) maintainer() {
	defer close(l.maintDone)
	for {
		select {
		case <-l.maintKick:
			if err := l.Maintain(); err != nil {
				l.log.Error("persist: maintenance", "dir", l.dir, "err", err)
			}
		case <-l.quit:
			return
		}
	}
}

func (l *Log) kickMaint() {
	select {
	case l.maintKick <- struct{}{}:
	default:
	}
}

// Maintain compresses the sealed segments not yet compressed (when the log
// has a codec) and applies retention. The log does it in the background
// after every seal; call it to have it done now.
func (l *Log) Maintain() error {
	l.maintMu.Lock()
	defer l.maintMu.Unlock()
	if l.o.codec != CodecNone {
		for _, s := range l.segmentsSnapshot() {
			_, sealed, codec := l.segState(s)
			if !sealed || codec != CodecNone {
				continue
			}
			if err := l.compressSegment(s); err != nil {
				return err
			}
		}
	}
	if l.o.retention.enabled() {
		return l.applyRetention(time.Now())
	}
	return nil
}

// compressSegment replaces sealed segment s by its compressed form.
// maintMu must be held.
func (l *Log) compressSegment(s *segment) error {
	h, raw, err := readSegment(s.path)
	if err != nil {
		return err
	}
	return l.replaceSegment(s, h, raw, false)
}

// replaceSegment writes raw (a records area) as the new content of sealed
// segment s, compressed with the log's codec, through a temporary file and
// a rename. rewritten says the records changed (offsets moved: the sparse
// index is rebuilt on demand). maintMu must be held.
func (l *Log) replaceSegment(s *segment, h segHeader, raw []byte, rewritten bool) error {
	h.codec, h.rawSize, h.firstTime = l.o.codec, 0, 0
	body := raw
	if l.o.codec != CodecNone {
		var err error
		if body, err = compress(l.o.codec, nil, raw); err != nil {
			return fmt.Errorf("persist: compress %s: %w", s.path, err)
		}
		h.rawSize = int64(len(raw))
		if rec, _, err := decodeRecord(raw); err == nil {
			h.firstTime = rec.Time
		}
	}
	if err := writeFileSync(s.path, h.encode(), body); err != nil {
		return err
	}
	l.segMu.Lock()
	s.codec, s.size, s.fileSize = h.codec, int64(len(raw)), segmentHeaderSize+int64(len(body))
	if rewritten {
		s.index, s.indexed, s.records, s.firstTime = nil, false, -1, 0
	}
	l.segMu.Unlock()
	return nil
}

// dropSegment deletes sealed segment s. maintMu must be held.
func (l *Log) dropSegment(s *segment) error {
	l.segMu.Lock()
	for i, t := range l.segs {
		if t == s {
			if i == len(l.segs)-1 || !s.sealed {
				l.segMu.Unlock()
				return fmt.Errorf("persist: %s: the active segment cannot be deleted", s.path)
			}
			l.segs = append(l.segs[:i:i], l.segs[i+1:]...)
			break
		}
	}
	l.segMu.Unlock()
	if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("persist: %w", err)
	}
	return syncDir(l.dir)
}

// applyRetention deletes the oldest sealed segments while the log, without
// them, still meets every bound of the retention. maintMu must be held.
func (l *Log) applyRetention(now time.Time) error {
	r := l.o.retention
	for {
		segs := l.segmentsSnapshot()
		if len(segs) < 2 {
			return nil
		}
		oldest, next := segs[0], segs[1]
		var total int64
		l.segMu.RLock()
		for _, s := range segs {
			total += s.fileSize
		}
		oldBytes := oldest.fileSize
		l.segMu.RUnlock()
		// Sequence numbers of a topic log have no gaps: the log holds
		// [oldest.base, last]; without the oldest, [next.base, last].
		last := l.written.Load()
		drop := false
		if r.MaxBytes > 0 && total > r.MaxBytes {
			drop = true
		}
		if r.MaxMessages > 0 && last >= next.base && int64(last-oldest.base+1) > r.MaxMessages {
			drop = true
		}
		if r.MaxAge > 0 {
			// Every record of the oldest segment is older than the next
			// segment's first one.
			ft, err := l.firstTime(next)
			if err != nil {
				return err
			}
			if ft != 0 && now.Sub(time.Unix(0, ft)) > r.MaxAge {
				drop = true
			}
		}
		if !drop {
			return nil
		}
		if err := l.dropSegment(oldest); err != nil {
			return err
		}
		l.log.Debug("persist: retention dropped segment", "file", oldest.path, "bytes", oldBytes)
	}
}
