package persist

import (
	"fmt"
	"os"
	"path/filepath"
)

// recover loads the segment list: sealed segments by header only (they
// were fsynced whole when sealed), the last one scanned record by record
// from its start, its torn tail truncated. Called by Open before the
// writer starts.
func (l *Log) recover() error {
	bases, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	for i, base := range bases {
		path := filepath.Join(l.dir, segmentName(base))
		if i == len(bases)-1 {
			return l.recoverActive(path, base)
		}
		s, err := l.openSealed(path, base)
		if err != nil {
			return err
		}
		if s != nil {
			l.segs = append(l.segs, s)
		}
	}
	l.nextSeq = 1
	return l.startSegment(1)
}

// openSealed validates a sealed segment's header. A bad one fails Open,
// or with WithSkipCorruption is reported and left out (nil segment).
func (l *Log) openSealed(path string, base uint64) (*segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	h, err := readHeader(f)
	if err != nil {
		if !l.o.skipCorrupt {
			return nil, err
		}
		l.report(Corruption{File: path, Length: fi.Size(), Err: err})
		return nil, nil
	}
	s := &segment{base: base, path: path, sealed: true, codec: h.codec, fileSize: fi.Size(), records: -1, firstTime: h.firstTime}
	s.size = fi.Size() - segmentHeaderSize
	if h.codec != CodecNone {
		s.size = h.rawSize
	}
	return s, nil
}

// recoverActive scans the last segment and makes it the active one.
func (l *Log) recoverActive(path string, base uint64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	if len(b) < segmentHeaderSize || allZero(b) {
		// Created but its header never fully reached the disk: nothing
		// was confirmed in it. Start it again.
		l.report(Corruption{File: path, Length: int64(len(b)), Torn: true, Err: fmt.Errorf("%w: incomplete segment header", ErrTruncatedRecord)})
		if err := os.Remove(path); err != nil {
			return fmt.Errorf("persist: %w", err)
		}
		l.nextSeq = base
		return l.startSegment(base)
	}
	h, err := decodeSegmentHeader(b, path)
	if err != nil {
		return err
	}
	data := b[segmentHeaderSize:]
	if h.codec != CodecNone {
		if data, err = decompress(h.codec, data, h.rawSize); err != nil {
			return fmt.Errorf("%w: %s: %s body: %w", ErrCorrupt, path, h.codec, err)
		}
	}
	s := &segment{base: base, path: path, codec: h.codec, fileSize: int64(len(b))}
	var nextIndex int64
	bad, torn, _ := scanRecords(data, base-1, func(off int, rec Record) error {
		if s.records == 0 {
			s.firstTime = rec.Time
		}
		if int64(off) >= nextIndex {
			s.index = append(s.index, indexEntry{seq: rec.Seq, time: rec.Time, off: int64(off)})
			nextIndex = int64(off) + l.o.indexInterval
		}
		s.records++
		s.lastSeq = rec.Seq
		l.lastTime = max(l.lastTime, rec.Time)
		return nil
	})
	if h.codec != CodecNone && (len(bad) > 0 || torn != nil) {
		return fmt.Errorf("%w: %s: compressed segment has bad records", ErrCorrupt, path)
	}
	for _, r := range bad {
		c := Corruption{File: path, Offset: segmentHeaderSize + int64(r.off), Length: int64(r.end - r.off), Err: r.err}
		if !l.o.skipCorrupt {
			return fmt.Errorf("%w: %s at offset %d (%d bytes before the next valid record): %w", ErrCorrupt, path, c.Offset, c.Length, r.err)
		}
		l.report(c)
	}
	size := int64(len(data))
	if torn != nil {
		l.report(Corruption{File: path, Offset: segmentHeaderSize + int64(torn.off), Length: int64(torn.end - torn.off), Torn: true, Err: torn.err})
		if err := truncateFile(path, segmentHeaderSize+int64(torn.off)); err != nil {
			return err
		}
		size = int64(torn.off)
	}
	l.nextSeq = base
	if s.lastSeq > 0 {
		l.nextSeq = s.lastSeq + 1
	}
	l.written.Store(l.nextSeq - 1)
	l.synced.Store(l.nextSeq - 1)
	l.confirmed.Store(l.nextSeq - 1)
	if h.codec != CodecNone {
		// A compressed segment is sealed; appends go to a new one.
		s.sealed, s.size = true, size
		l.segs = append(l.segs, s)
		return l.startSegment(l.nextSeq)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	s.size, s.fileSize = size, segmentHeaderSize+size
	l.segs = append(l.segs, s)
	l.w.f, l.w.seg, l.w.size, l.w.nextIndex = f, s, size, nextIndex
	return nil
}

func truncateFile(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("persist: truncate %s to %d: %w", path, size, err)
	}
	return nil
}
