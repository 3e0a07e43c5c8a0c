package persist

import "fmt"

// badRange is a run of bytes [off, end) of a segment's records area that
// holds no valid record; err says why the record at off failed.
type badRange struct {
	off, end int
	err      error
}

// scanRecords walks the records area data, calling fn for each valid record
// in order. Sequence numbers must strictly increase, starting above prev
// (a queue compaction leaves gaps, never reorders).
//
// A bad record is followed by a search for the next valid one: if there is
// one, the bytes between are a bad range (mid-file corruption, returned in
// bad); if there is none, everything from the bad record on is the torn
// tail (returned as torn, nil when the data ends cleanly). fn's error stops
// the scan and is returned as err.
func scanRecords(data []byte, prev uint64, fn func(off int, rec Record) error) (bad []badRange, torn *badRange, err error) {
	off := 0
	for off < len(data) {
		rec, n, derr := decodeRecord(data[off:])
		if derr == nil && rec.Seq <= prev {
			derr = errSeqBackwards(rec.Seq, prev)
		}
		if derr == nil {
			if fn != nil {
				if err := fn(off, rec); err != nil {
					return bad, nil, err
				}
			}
			prev = rec.Seq
			off += n
			continue
		}
		next := resync(data, off, prev)
		if next < 0 {
			return bad, &badRange{off: off, end: len(data), err: derr}, nil
		}
		bad = append(bad, badRange{off: off, end: next, err: derr})
		off = next
	}
	return bad, nil, nil
}

// resync returns the offset of the first valid record after the bad one at
// off whose sequence is above prev, or -1. It tries the end the bad
// header claims first (a flipped payload bit leaves the length intact, so
// exactly one record is skipped), then every later offset.
func resync(data []byte, off int, prev uint64) int {
	if len(data)-off >= recordHeaderSize {
		if n, _, _ := peekRecord(data[off:]); n > recordHeaderSize-1 && n <= len(data)-off {
			if p := off + n; validAt(data, p, prev) {
				return p
			}
		}
	}
	for p := off + 1; p+recordHeaderSize <= len(data); p++ {
		if validAt(data, p, prev) {
			return p
		}
	}
	return -1
}

func validAt(data []byte, p int, prev uint64) bool {
	if p+recordHeaderSize > len(data) {
		return false
	}
	rec, _, err := decodeRecord(data[p:])
	return err == nil && rec.Seq > prev
}

func errSeqBackwards(seq, prev uint64) error {
	return fmt.Errorf("%w: sequence %d after %d", ErrInvalidRecord, seq, prev)
}
