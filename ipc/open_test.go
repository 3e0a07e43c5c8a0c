package ipc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// corrupt creates a valid 8 KiB-data spsc segment "s" in a fresh dir, closes
// it, applies f to the file and returns the directory.
func corrupt(t *testing.T, f func(t *testing.T, path string)) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Create("s", KindSPSC, 8192, WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f(t, filepath.Join(dir, "s"))
	return dir
}

func patch(off int64, b []byte) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
}

// reheader rewrites the header with f applied and a valid checksum.
func reheader(f func(*Header)) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ValidateHeader(b, KindSPSC, int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		f(&h)
		patch(0, encoded(t, h)[:EncodedHeaderLen])(t, path)
	}
}

func truncate(size int64) func(*testing.T, string) {
	return func(t *testing.T, path string) {
		if err := os.Truncate(path, size); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	u32 := func(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
	tests := []struct {
		name     string
		f        func(*testing.T, string)
		kind     Kind
		sentinel error
		msg      string
	}{
		{"missing", func(t *testing.T, p string) { os.Remove(p) }, KindSPSC, ErrNotFound, "not found"},
		{"magic", patch(0, []byte("NOTSHMBU")), KindSPSC, ErrBadMagic, `magic is "NOTSHMBU"`},
		{"version", reheader(func(h *Header) { h.Version = 7 }), KindSPSC, ErrBadVersion, "layout version 7"},
		{"kind", func(*testing.T, string) {}, KindMPMC, ErrWrongKind, "wrong kind: file is spsc, want mpmc"},
		{"checksum", patch(offChecksum, u32(0xdeadbeef)), KindSPSC, ErrBadChecksum, "checksum is 0xdeadbeef"},
		{"flipped bit", patch(offDataSize, []byte{1}), KindSPSC, ErrBadChecksum, "checksum"},
		{"header size", reheader(func(h *Header) { h.HeaderSize = 8192 }), KindSPSC, ErrBadSize, "header size is 8192"},
		{"truncated header", truncate(100), KindSPSC, ErrTruncated, "file is 100 bytes, shorter than the 4096-byte header"},
		{"empty", truncate(0), KindSPSC, ErrTruncated, "file is 0 bytes"},
		{"shorter than data", truncate(HeaderSize + 4096), KindSPSC, ErrTruncated, "file is 8192 bytes, header says 4096+8192"},
		{"longer than data", truncate(HeaderSize + 3*4096), KindSPSC, ErrBadSize, "file is 16384 bytes, header says 4096+8192"},
		{"directory", func(t *testing.T, p string) { os.Remove(p); os.Mkdir(p, 0o700) }, KindSPSC, ErrNotRegular, "is a directory"},
		{"symlink", func(t *testing.T, p string) {
			os.Rename(p, p+"-target")
			if err := os.Symlink(p+"-target", p); err != nil {
				t.Fatal(err)
			}
		}, KindSPSC, ErrNotRegular, "is a symlink"},
		{"fifo", func(t *testing.T, p string) { os.Remove(p); mkfifo(t, p) }, KindSPSC, ErrNotRegular, "is a named pipe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := corrupt(t, tt.f)
			s, err := Open("s", tt.kind, WithDir(dir))
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("got %v, want %v", err, tt.sentinel)
			}
			want := fmt.Sprintf("shmbus: segment %q: ", filepath.Join(dir, "s"))
			if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, tt.msg) {
				t.Errorf("error %q: want prefix %q and %q", msg, want, tt.msg)
			}
			t.Log(err)
		})
	}
}

func TestOpenNotFoundIsNotExist(t *testing.T) {
	_, err := Open("nope", KindSPSC, WithDir(t.TempDir()))
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}
