package persist

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
)

// writeLog writes n records into a fresh log in one segment and closes it.
func writeLog(t *testing.T, n int, opts ...Option) string {
	t.Helper()
	dir := t.TempDir()
	l := mustOpen(t, dir, opts...)
	for i := 1; i <= n; i++ {
		if _, err := l.Append(3, payloadOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTornTailEveryOffset cuts the last segment at every offset inside its
// last record: Open reports the torn tail with its offset, truncates it
// and recovers every earlier record, and the log goes on from there.
func TestTornTailEveryOffset(t *testing.T) {
	const n = 20
	src := writeLog(t, n)
	path := segFiles(t, src)[0]
	full, _ := os.ReadFile(path)
	last := len(full) - recordSize(len(payloadOf(n)))
	for cut := last; cut < len(full); cut++ {
		dir := copyDir(t, src)
		p := segFiles(t, dir)[0]
		if err := os.Truncate(p, int64(cut)); err != nil {
			t.Fatal(err)
		}
		l := mustOpen(t, dir)
		got := readAll(t, l, 0)
		if len(got) != n-1 || got[n-2].Seq != n-1 {
			t.Fatalf("cut at %d: recovered %d records", cut, len(got))
		}
		cs := l.Corruptions()
		if cut > last && (len(cs) != 1 || !cs[0].Torn || cs[0].Offset != int64(last) || cs[0].File != p) {
			t.Fatalf("cut at %d: reported %v", cut, cs)
		}
		if seq, err := l.Append(3, []byte("next")); err != nil || seq != n {
			t.Fatalf("cut at %d: append after recovery: seq %d, %v", cut, seq, err)
		}
		l.Close()
		if fi, _ := os.Stat(p); fi.Size() != int64(last+recordSize(4)) {
			t.Fatalf("cut at %d: file is %d bytes after reopen and one append", cut, fi.Size())
		}
	}
}

// TestZeroedTail: a tail of zeros (the file grew, its data never landed) is
// torn, not corrupt.
func TestZeroedTail(t *testing.T) {
	dir := writeLog(t, 10)
	p := segFiles(t, dir)[0]
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, 4096))
	f.Close()
	l := mustOpen(t, dir)
	defer l.Close()
	if got := readAll(t, l, 0); len(got) != 10 {
		t.Fatalf("%d records", len(got))
	}
	if cs := l.Corruptions(); len(cs) != 1 || !errors.Is(cs[0].Err, ErrZeroedRecord) {
		t.Fatalf("reported %v", cs)
	}
}

// TestBitFlipMiddle flips one bit in a middle record, in turn in each part
// of it: Open refuses (naming file and offset); with WithSkipCorruption it
// skips exactly that record and reports it.
func TestBitFlipMiddle(t *testing.T) {
	const n, bad = 30, 15
	src := writeLog(t, n)
	recLen := recordSize(len(payloadOf(1)))
	start := segmentHeaderSize + (bad-1)*recLen
	for _, at := range []int{offCRC, offLen, offType, offReserved + 2, offSeq, offTime + 7, recordHeaderSize + 3} {
		dir := copyDir(t, src)
		p := segFiles(t, dir)[0]
		b, _ := os.ReadFile(p)
		b[start+at] ^= 0x10
		os.WriteFile(p, b, 0o600)

		_, err := Open(dir, WithLogger(quiet))
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), fmt.Sprintf("offset %d", start)) {
			t.Fatalf("flip at +%d: Open: %v", at, err)
		}
		l := mustOpen(t, dir, WithSkipCorruption(true))
		got := readAll(t, l, 0)
		if len(got) != n-1 {
			t.Fatalf("flip at +%d: %d records", at, len(got))
		}
		for i, rec := range got {
			want := i + 1
			if want >= bad {
				want++
			}
			if rec.Seq != uint64(want) || !bytes.Equal(rec.Payload, payloadOf(want)) {
				t.Fatalf("flip at +%d: record %d is %d", at, i, rec.Seq)
			}
		}
		cs := l.Corruptions()
		if len(cs) != 1 || cs[0].Offset != int64(start) || cs[0].Length != int64(recLen) || cs[0].Torn {
			t.Fatalf("flip at +%d: reported %v", at, cs)
		}
		l.Close()
		rep, err := Verify(dir)
		if err != nil || len(rep.Problems) != 1 || rep.Problems[0].Offset != int64(start) {
			t.Fatalf("flip at +%d: Verify %v %v", at, rep.Problems, err)
		}
	}
}

// TestCorruptSealedSegment: corruption in a sealed (here compressed)
// segment is found by readers, refused by default, skipped with the option.
func TestCorruptSealedSegment(t *testing.T) {
	dir := writeLog(t, 300, WithSegmentSize(4<<10), WithCompression(CodecNone))
	p := segFiles(t, dir)[0]
	b, _ := os.ReadFile(p)
	b[segmentHeaderSize+5*recordSize(len(payloadOf(1)))+recordHeaderSize+1] ^= 1
	os.WriteFile(p, b, 0o600)
	l := mustOpen(t, dir)
	r := l.NewReader(0)
	var err error
	for err == nil {
		_, err = r.Next()
	}
	if !errors.Is(err, ErrCorrupt) || r.LastSeq() != 5 {
		t.Fatalf("read to %d: %v", r.LastSeq(), err)
	}
	l.Close()
	l = mustOpen(t, dir, WithSkipCorruption(true))
	defer l.Close()
	if got := readAll(t, l, 0); len(got) != 299 {
		t.Fatalf("%d records", len(got))
	}
	if cs := l.Corruptions(); len(cs) != 1 {
		t.Fatalf("reported %v", cs)
	}
}

func TestBadSegmentHeader(t *testing.T) {
	dir := writeLog(t, 300, WithSegmentSize(4<<10))
	p := segFiles(t, dir)[0]
	b, _ := os.ReadFile(p)
	for _, tc := range []struct {
		at   int
		want error
	}{{0, ErrBadSegment}, {shOffVersion, ErrBadVersion}, {shOffBase, ErrBadSegment}} {
		c := bytes.Clone(b)
		c[tc.at] ^= 1
		os.WriteFile(p, c, 0o600)
		if _, err := Open(dir, WithLogger(quiet)); !errors.Is(err, tc.want) || !strings.Contains(err.Error(), p) {
			t.Fatalf("header byte %d: %v", tc.at, err)
		}
	}
}

func TestTornSegmentHeader(t *testing.T) {
	dir := writeLog(t, 300, WithSegmentSize(4<<10))
	files := segFiles(t, dir)
	lastFile := files[len(files)-1]
	os.Truncate(lastFile, 10)
	l := mustOpen(t, dir)
	defer l.Close()
	got := readAll(t, l, 0)
	if len(got) == 0 || got[len(got)-1].Seq+1 != l.LastSeq()+1 || len(l.Corruptions()) != 1 {
		t.Fatalf("%d records, last seq %d, %v", len(got), l.LastSeq(), l.Corruptions())
	}
}
