package persist

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"sort"
)

// segmentFor returns the segment that holds seq: the last one whose base is
// <= seq, or the first one when seq is older than the log.
func (l *Log) segmentFor(seq uint64) *segment {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	if len(l.segs) == 0 {
		return nil
	}
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > seq })
	if i == 0 {
		return l.segs[0]
	}
	return l.segs[i-1]
}

// segmentAfter returns the first segment with a base above base, or nil.
func (l *Log) segmentAfter(base uint64) *segment {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > base })
	if i == len(l.segs) {
		return nil
	}
	return l.segs[i]
}

// segState returns what a reader needs of s, consistently.
func (l *Log) segState(s *segment) (size int64, sealed bool, codec Codec) {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	return s.size, s.sealed, s.codec
}

// indexOffset returns the records area offset from which to scan for seq
// in s: that of the last index entry at or below seq that lies before
// limit (the bytes available), else 0.
func (l *Log) indexOffset(s *segment, seq uint64, limit int64) int64 {
	l.segMu.RLock()
	defer l.segMu.RUnlock()
	i := sort.Search(len(s.index), func(i int) bool { return s.index[i].seq > seq })
	for i > 0 {
		i--
		if e := s.index[i]; e.off < limit {
			return e.off
		}
	}
	return 0
}

// ensureIndex builds the sparse index of a sealed segment not indexed
// since Open (one scan of that segment), and returns its first record's
// time (0 if it is empty).
func (l *Log) ensureIndex(s *segment) (int64, error) {
	l.segMu.RLock()
	done, sealed, ft := s.indexed, s.sealed, s.firstTime
	l.segMu.RUnlock()
	if done || !sealed {
		return ft, nil
	}
	_, data, err := readSegment(s.path)
	if err != nil {
		return 0, err
	}
	var idx []indexEntry
	var next, records int64
	var first int64
	var last uint64
	bad, torn, _ := scanRecords(data, 0, func(off int, rec Record) error {
		if records == 0 {
			first = rec.Time
		}
		if int64(off) >= next {
			idx = append(idx, indexEntry{seq: rec.Seq, time: rec.Time, off: int64(off)})
			next = int64(off) + l.o.indexInterval
		}
		records++
		last = rec.Seq
		return nil
	})
	if len(bad) > 0 || torn != nil {
		records = -1 // the readers report the corruption
	}
	l.segMu.Lock()
	s.index, s.indexed, s.firstTime, s.records, s.lastSeq = idx, true, first, records, last
	l.segMu.Unlock()
	return first, nil
}

// SeqAtTime returns the sequence of the first record stamped at or after
// t (unix ns), or LastSeq()+1 when there is none yet. It finds the segment
// by binary search on first-record times and scans only from the nearest
// sparse index entry.
func (l *Log) SeqAtTime(t int64) (uint64, error) {
	segs := l.segmentsSnapshot()
	// The segment to search is the last whose first record is before t.
	var firstErr error
	i := sort.Search(len(segs), func(i int) bool {
		ft, err := l.firstTime(segs[i])
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return ft == 0 || ft >= t // an empty (active) segment sorts last
	})
	if firstErr != nil {
		return 0, firstErr
	}
	if i == 0 {
		if len(segs) == 0 {
			return l.LastSeq() + 1, nil
		}
		return l.firstSeqFrom(segs[0].base)
	}
	s := segs[i-1]
	if _, err := l.ensureIndex(s); err != nil {
		return 0, err
	}
	l.segMu.RLock()
	j := sort.Search(len(s.index), func(j int) bool { return s.index[j].time >= t })
	from := s.base
	if j > 0 {
		from = s.index[j-1].seq
	}
	l.segMu.RUnlock()
	r := l.NewReader(from)
	defer r.Close()
	for {
		rec, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return l.LastSeq() + 1, nil
			}
			return 0, err
		}
		if rec.Time >= t {
			return rec.Seq, nil
		}
	}
}

// firstSeqFrom returns the first record's sequence at or after from.
func (l *Log) firstSeqFrom(from uint64) (uint64, error) {
	r := l.NewReader(from)
	defer r.Close()
	rec, err := r.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return l.LastSeq() + 1, nil
		}
		return 0, err
	}
	return rec.Seq, nil
}

// firstTime returns s's first record time: from memory, the compressed
// header, or one small read of an uncompressed file.
func (l *Log) firstTime(s *segment) (int64, error) {
	l.segMu.RLock()
	ft, sealed := s.firstTime, s.sealed
	l.segMu.RUnlock()
	if ft != 0 || !sealed {
		return ft, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h, err := readHeader(f)
	if err != nil {
		return 0, err
	}
	if h.codec != CodecNone {
		return l.ensureIndex(s)
	}
	var lenb [recordHeaderSize]byte
	if _, err := f.ReadAt(lenb[:], segmentHeaderSize); err != nil {
		return 0, nil // empty
	}
	n := int64(binary.LittleEndian.Uint32(lenb[offLen:]))
	if n > MaxRecordLimit {
		return l.ensureIndex(s)
	}
	b := make([]byte, recordHeaderSize+n)
	if _, err := f.ReadAt(b, segmentHeaderSize); err != nil {
		return l.ensureIndex(s)
	}
	rec, _, err := decodeRecord(b)
	if err != nil {
		return l.ensureIndex(s)
	}
	l.segMu.Lock()
	s.firstTime = rec.Time
	l.segMu.Unlock()
	return rec.Time, nil
}
