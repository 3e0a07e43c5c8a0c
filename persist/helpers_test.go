package persist

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// quiet is a logger for tests that provoke warnings.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustOpen(t testing.TB, dir string, opts ...Option) *Log {
	t.Helper()
	l, err := Open(dir, append([]Option{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return l
}

// readAll returns every record of l from from on (payloads copied).
func readAll(t testing.TB, l *Log, from uint64) []Record {
	t.Helper()
	r := l.NewReader(from)
	defer r.Close()
	var out []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next after %d: %v", r.LastSeq(), err)
		}
		rec.Payload = append([]byte(nil), rec.Payload...)
		out = append(out, rec)
	}
}

func payloadOf(i int) []byte { return fmt.Appendf(nil, "record-%06d", i) }

// copyDir copies the regular files of src into a new temporary directory.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, d.Name()), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// segFiles returns the segment paths of dir, ascending.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	bases, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bases {
		out = append(out, filepath.Join(dir, segmentName(b)))
	}
	return out
}

// scale returns normal, or short under -short.
func scale(normal, short int) int {
	if testing.Short() {
		return short
	}
	return normal
}
