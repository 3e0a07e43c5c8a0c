package persist

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeRecord: decoding arbitrary bytes never panics, fails with one of
// the sentinels, and a record that decodes re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, 1, 1, 1, []byte("hello")))
	f.Add(make([]byte, recordHeaderSize))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, n, err := decodeRecord(b)
		if err != nil {
			if !errors.Is(err, ErrZeroedRecord) && !errors.Is(err, ErrTruncatedRecord) &&
				!errors.Is(err, ErrInvalidRecord) && !errors.Is(err, ErrInvalidChecksum) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n > len(b) || n != recordSize(len(rec.Payload)) {
			t.Fatalf("size %d of %d bytes", n, len(b))
		}
		if again := appendRecord(nil, rec.Type, rec.Seq, rec.Time, rec.Payload); !bytes.Equal(again, b[:n]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzSegmentReader: a segment file of arbitrary content as the active
// segment. Open either refuses it with an error or recovers it; then every
// record reads back valid, in increasing sequence, and the log takes
// appends. With WithSkipCorruption Open never fails on records.
func FuzzSegmentReader(f *testing.F) {
	seg := segHeader{base: 1}.encode()
	for i := 1; i <= 3; i++ {
		seg = appendRecord(seg, 1, uint64(i), int64(i), payloadOf(i))
	}
	f.Add(seg, false)
	f.Add(seg[:len(seg)-5], false)
	flipped := bytes.Clone(seg)
	flipped[segmentHeaderSize+recordHeaderSize+4] ^= 1
	f.Add(flipped, true)
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		// The scanner itself: ranges are ordered, inside the data, and
		// every record it accepts decodes.
		if len(data) >= segmentHeaderSize {
			body := data[segmentHeaderSize:]
			prev, last := uint64(0), 0
			bad, torn, _ := scanRecords(body, 0, func(off int, rec Record) error {
				if rec.Seq <= prev || off < last {
					t.Fatalf("record at %d out of order", off)
				}
				prev, last = rec.Seq, off
				return nil
			})
			for _, r := range bad {
				if r.off >= r.end || r.end > len(body) {
					t.Fatalf("bad range %+v of %d", r, len(body))
				}
			}
			if torn != nil && torn.end != len(body) {
				t.Fatalf("torn %+v of %d", torn, len(body))
			}
		}
		dir := t.TempDir()
		if err := writeFileSync(dir+"/"+segmentName(1), data); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, WithLogger(quiet), WithSkipCorruption(skip), WithCompression(CodecNone))
		if err != nil {
			return
		}
		defer l.Close()
		r := l.NewReader(0)
		var prev uint64
		for {
			rec, err := r.Next()
			if err != nil {
				break
			}
			if rec.Seq <= prev {
				t.Fatalf("seq %d after %d", rec.Seq, prev)
			}
			prev = rec.Seq
		}
		if _, err := l.Append(1, []byte("x")); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}
