package persist

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Operator functions. Verify, Dump and Stat only read: they never truncate
// or rewrite anything, so they are safe on a live journal's directory.

// SegmentInfo describes one segment file.
type SegmentInfo struct {
	Path      string
	Base      uint64
	Codec     Codec
	FileBytes int64
	RawBytes  int64 // records area, uncompressed
	Records   int64
	FirstSeq  uint64
	LastSeq   uint64
	FirstTime int64
	LastTime  int64
	Live      int64 // queue journals: live enqueues in this segment
	Problems  []Corruption
}

// Report is the result of Verify and Stat.
type Report struct {
	Dir      string
	Segments []SegmentInfo
	Records  int64
	Bytes    int64
	Live     int64 // queue journals: live messages
	Queue    bool  // the journal holds queue records
	Problems []Corruption
}

// OK says whether Verify found nothing wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// walk reads every segment of dir in order, calling fn with its info and
// each valid record. Bad records are collected as problems, not returned.
func walk(dir string, fn func(si *SegmentInfo, rec Record)) (*Report, error) {
	bases, err := listSegmentsReadOnly(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Dir: dir}
	var prev uint64
	for i, base := range bases {
		path := filepath.Join(dir, segmentName(base))
		si := SegmentInfo{Path: path, Base: base}
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("persist: %w", err)
		}
		si.FileBytes = fi.Size()
		rep.Bytes += fi.Size()
		h, data, err := readSegment(path)
		if err != nil {
			si.Problems = append(si.Problems, Corruption{File: path, Length: fi.Size(), Err: err})
			rep.Problems = append(rep.Problems, si.Problems...)
			rep.Segments = append(rep.Segments, si)
			continue
		}
		si.Codec, si.RawBytes = h.codec, int64(len(data))
		hdrOff := int64(segmentHeaderSize)
		if h.codec != CodecNone {
			hdrOff = 0
		}
		bad, torn, _ := scanRecords(data, max(prev, base-1), func(off int, rec Record) error {
			if si.Records == 0 {
				si.FirstSeq, si.FirstTime = rec.Seq, rec.Time
			}
			si.Records++
			si.LastSeq, si.LastTime = rec.Seq, rec.Time
			prev = rec.Seq
			if fn != nil {
				fn(&si, rec)
			}
			return nil
		})
		for _, b := range bad {
			si.Problems = append(si.Problems, Corruption{File: path, Offset: hdrOff + int64(b.off), Length: int64(b.end - b.off), Err: b.err})
		}
		if torn != nil {
			// A torn tail is what a crash leaves in the active (last)
			// segment: Open truncates it. Anywhere else it is corruption.
			si.Problems = append(si.Problems, Corruption{File: path, Offset: hdrOff + int64(torn.off), Length: int64(torn.end - torn.off), Torn: i == len(bases)-1, Err: torn.err})
		}
		rep.Problems = append(rep.Problems, si.Problems...)
		rep.Records += si.Records
		rep.Segments = append(rep.Segments, si)
	}
	return rep, nil
}

func listSegmentsReadOnly(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("persist: %w", err)
	}
	var bases []uint64
	for _, e := range ents {
		if base, ok := parseSegmentName(e.Name()); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	return bases, nil // os.ReadDir sorts by name, and names sort by base
}

// Verify reads every record of the journal in dir and checks framing,
// checksums and sequence order, and the segment headers. Problems are
// listed in the report (a torn tail of the last segment is marked Torn:
// Open would truncate it); the error is for failures to read at all.
func Verify(dir string) (*Report, error) { return Stat(dir) }

// Stat describes the journal in dir: segments, bytes, records, and for a
// queue journal the live messages per segment (a full read, like Verify).
func Stat(dir string) (*Report, error) {
	live := map[uint64]uint64{} // queue: id -> enqueue seq
	var queueSeen bool
	rep, err := walk(dir, func(_ *SegmentInfo, rec Record) {
		id, ok := decodeID(rec.Payload)
		if !ok {
			return
		}
		switch rec.Type {
		case TypeEnqueue:
			queueSeen = true
			live[id] = rec.Seq
		case TypeAck, TypeDeadLetter:
			delete(live, id)
		}
	})
	if err != nil {
		return nil, err
	}
	rep.Queue = queueSeen
	if queueSeen {
		for _, seq := range live {
			for i := range rep.Segments {
				s := &rep.Segments[i]
				if s.Records > 0 && seq >= s.FirstSeq && seq <= s.LastSeq {
					s.Live++
					break
				}
			}
		}
		rep.Live = int64(len(live))
	}
	return rep, nil
}

// Dump writes every record of the journal in dir to w, one line each, in
// readable form (queue and topic records decoded; payloads quoted, cut to
// maxPayload bytes).
func Dump(dir string, w io.Writer, maxPayload int) error {
	var werr error
	rep, err := walk(dir, func(si *SegmentInfo, rec Record) {
		if werr != nil {
			return
		}
		if si.Records == 1 {
			_, werr = fmt.Fprintf(w, "# %s codec=%s\n", filepath.Base(si.Path), si.Codec)
		}
		ts := time.Unix(0, rec.Time).UTC().Format(time.RFC3339Nano)
		_, werr = fmt.Fprintf(w, "seq=%d time=%s %s\n", rec.Seq, ts, describe(rec, maxPayload))
	})
	if err != nil {
		return err
	}
	for _, p := range rep.Problems {
		if _, err := fmt.Fprintf(w, "! %s\n", p); err != nil {
			return err
		}
	}
	return werr
}

func describe(rec Record, maxPayload int) string {
	cut := func(b []byte) string {
		if len(b) > maxPayload {
			return fmt.Sprintf("%q...(%d bytes)", b[:maxPayload], len(b))
		}
		return fmt.Sprintf("%q", b)
	}
	id, _ := decodeID(rec.Payload)
	switch rec.Type {
	case TypeEnqueue:
		var m QueueMessage
		if err := decodeEnqueue(rec.Payload, &m); err != nil {
			return fmt.Sprintf("type=enqueue %v", err)
		}
		return fmt.Sprintf("type=enqueue id=%d prio=%d deadline=%d deliveries=%d topic=%q headers=%s payload=%s",
			m.ID, m.Priority, m.Deadline, m.Deliveries, m.Topic, cut(m.Headers), cut(m.Payload))
	case TypeAck:
		return fmt.Sprintf("type=ack id=%d", id)
	case TypeDeadLetter:
		return fmt.Sprintf("type=dead-letter id=%d", id)
	case TypeNak:
		if len(rec.Payload) >= 12 {
			return fmt.Sprintf("type=nak id=%d deliveries=%d", id, binary.LittleEndian.Uint32(rec.Payload[8:]))
		}
	case TypePublish:
		var m TopicMessage
		if err := decodePublish(rec.Payload, &m); err == nil {
			return fmt.Sprintf("type=publish topic=%q headers=%s data=%s", m.Topic, cut(m.Headers), cut(m.Data))
		}
	}
	return fmt.Sprintf("type=%d payload=%s", rec.Type, cut(rec.Payload))
}

// Compact opens the journal in dir (recovering it, so a torn tail is
// truncated) and shrinks it: a queue journal is compacted (Queue.Compact);
// any journal gets its sealed segments compressed and its retention
// applied (Log.Maintain) under the given options.
func Compact(dir string, opts ...Option) (CompactStats, error) {
	rep, err := Stat(dir)
	if err != nil {
		return CompactStats{}, err
	}
	if rep.Queue {
		q, err := OpenQueue(dir, opts...)
		if err != nil {
			return CompactStats{}, err
		}
		st, err := q.Compact()
		if err == nil {
			err = q.log.Maintain()
		}
		if cerr := q.Close(); err == nil {
			err = cerr
		}
		return st, err
	}
	l, err := Open(dir, opts...)
	if err != nil {
		return CompactStats{}, err
	}
	before := rep.Bytes
	err = l.Maintain()
	var after int64
	for _, s := range l.segmentsSnapshot() {
		l.segMu.RLock()
		after += s.fileSize
		l.segMu.RUnlock()
	}
	if cerr := l.Close(); err == nil {
		err = cerr
	}
	return CompactStats{Segments: len(rep.Segments), Bytes: before - after}, err
}
