package persist

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Reader reads a Log's records in sequence order, from a starting sequence
// up to what the writer has written, and then on as more is written: Next
// returns io.EOF at the current end, and a later Next continues where it
// stopped, so nothing is skipped or read twice. To follow the log live:
//
//	for {
//		ch := log.Changed()
//		rec, err := r.Next()
//		if err == io.EOF { <-ch; continue }
//		...
//	}
//
// A Reader is not safe for concurrent use. Segments deleted under it
// (retention) are skipped: LastSeq then jumps.
type Reader struct {
	l    *Log
	next uint64 // records below this sequence are skipped
	last uint64 // sequence of the last record returned

	seg    *segment
	f      *os.File // open while seg may still grow
	base   int64    // records area offset of data[0]
	data   []byte   // records area of seg read so far
	off    int      // next record in data
	sealed bool     // data holds all of seg
	closed bool
}

// NewReader returns a Reader whose first record is the first one with a
// sequence number >= from (from 0 or 1: the oldest record).
func (l *Log) NewReader(from uint64) *Reader {
	return &Reader{l: l, next: max(from, 1)}
}

// LastSeq returns the sequence of the last record Next returned (0 if none).
func (r *Reader) LastSeq() uint64 { return r.last }

// NextSeq returns the lowest sequence the next record can have.
func (r *Reader) NextSeq() uint64 { return r.next }

// Close releases the reader's file.
func (r *Reader) Close() error {
	r.closed = true
	r.release()
	return nil
}

func (r *Reader) release() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.seg, r.data, r.base, r.off, r.sealed = nil, r.data[:0], 0, 0, false
}

// Next returns the next record, or io.EOF when the reader has caught up
// with what is written. The payload is valid until the next call. A corrupt
// record is an error wrapping ErrCorrupt naming the file and offset (the
// reader stays before it), or under WithSkipCorruption is skipped and
// reported in Log.Corruptions.
func (r *Reader) Next() (Record, error) {
	if r.closed {
		return Record{}, ErrClosed
	}
	for {
		if r.seg == nil {
			ok, err := r.open()
			if err != nil || !ok {
				return Record{}, err
			}
		}
		if r.off < len(r.data) {
			rec, n, err := decodeRecord(r.data[r.off:])
			if err == nil && rec.Seq <= r.last {
				err = errSeqBackwards(rec.Seq, r.last)
			}
			if err != nil {
				if err := r.corrupt(err); err != nil {
					return Record{}, err
				}
				continue
			}
			r.off += n
			if rec.Seq < r.next {
				continue
			}
			r.last, r.next = rec.Seq, rec.Seq+1
			return rec, nil
		}
		more, err := r.refill()
		if err != nil {
			return Record{}, err
		}
		if more {
			continue
		}
		if !r.sealed {
			return Record{}, io.EOF
		}
		if nxt := r.l.segmentAfter(r.seg.base); nxt != nil {
			r.release()
			r.next = max(r.next, nxt.base)
			continue
		}
		return Record{}, io.EOF
	}
}

// corrupt handles a bad record at r.off: skip to the next valid one (or
// the end of the data) with WithSkipCorruption, else fail.
func (r *Reader) corrupt(cause error) error {
	next := resync(r.data, r.off, r.last)
	if next < 0 {
		next = len(r.data)
	}
	off := r.base + int64(r.off)
	if r.f != nil {
		off += segmentHeaderSize
	}
	c := Corruption{File: r.seg.path, Offset: off, Length: int64(next - r.off), Err: cause}
	if !r.l.o.skipCorrupt {
		return fmt.Errorf("%w: %s at offset %d: %w", ErrCorrupt, c.File, c.Offset, cause)
	}
	r.l.report(c)
	r.off = next
	return nil
}

// open positions the reader in the segment holding r.next; false when the
// log has no segment.
func (r *Reader) open() (bool, error) {
	for range 8 { // a segment may vanish (retention) between lookup and open
		s := r.l.segmentFor(r.next)
		if s == nil {
			return false, nil
		}
		r.next = max(r.next, s.base)
		r.seg, r.base, r.off, r.data = s, 0, 0, r.data[:0]
		f, err := os.Open(s.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			r.seg = nil
			return false, fmt.Errorf("persist: %w", err)
		}
		h, err := readHeader(f)
		if err != nil {
			f.Close()
			r.seg = nil
			return false, err
		}
		if h.codec != CodecNone {
			// Sealed and compressed: decompress it whole.
			fi, err := f.Stat()
			var body []byte
			if err == nil {
				body = make([]byte, fi.Size()-segmentHeaderSize)
				_, err = f.ReadAt(body, segmentHeaderSize)
			}
			f.Close()
			if err != nil {
				r.seg = nil
				return false, fmt.Errorf("persist: read %s: %w", s.path, err)
			}
			data, err := decompress(h.codec, body, h.rawSize)
			if err != nil {
				r.seg = nil
				return false, fmt.Errorf("%w: %s: %s body at offset %d: %w", ErrCorrupt, s.path, h.codec, segmentHeaderSize, err)
			}
			r.data, r.sealed = data, true
			r.off = int(r.l.indexOffset(s, r.next, int64(len(data))))
			return true, nil
		}
		size, _, _ := r.l.segState(s)
		r.f, r.sealed = f, false
		r.base = r.l.indexOffset(s, r.next, size)
		return true, nil
	}
	r.seg = nil
	return false, fmt.Errorf("persist: %s: segments keep vanishing under the reader", r.l.dir)
}

// readChunk bounds one read of a growing segment.
const readChunk = 1 << 20

// refill reads more of an uncompressed segment, up to what the writer has
// written; false when there is nothing more now (r.sealed once the segment
// will not grow).
func (r *Reader) refill() (bool, error) {
	if r.f == nil {
		r.sealed = true
		return false, nil
	}
	size, sealed, _ := r.l.segState(r.seg)
	have := r.base + int64(len(r.data))
	if have >= size {
		r.sealed = sealed
		return false, nil
	}
	if r.off > 0 { // drop what was consumed, keep the buffer bounded
		n := copy(r.data, r.data[r.off:])
		r.base += int64(r.off)
		r.data, r.off = r.data[:n], 0
	}
	want := int(min(size-have, readChunk))
	if cap(r.data)-len(r.data) < want {
		grown := make([]byte, len(r.data), len(r.data)+want)
		copy(grown, r.data)
		r.data = grown
	}
	n, err := r.f.ReadAt(r.data[len(r.data):len(r.data)+want], segmentHeaderSize+have)
	r.data = r.data[:len(r.data)+n]
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("persist: read %s: %w", r.seg.path, err)
	}
	if n == 0 { // the file was replaced under us: what we have is all of it
		r.sealed = true
		return false, nil
	}
	return true, nil
}
