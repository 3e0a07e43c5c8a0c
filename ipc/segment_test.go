package ipc

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"unsafe"
)

func TestCreateOpen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shm")
	param := []byte{1, 2, 3, 4}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := Create("ring.a", KindSPSC, 3*4096+100, WithDir(dir), WithParam(param), WithPrefault(true), WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open("ring.a", KindSPSC, WithDir(dir), WithPrefault(true))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	if a.Path() != filepath.Join(dir, "ring.a") || b.Path() != a.Path() {
		t.Errorf("paths %q, %q", a.Path(), b.Path())
	}
	if a.Header() != b.Header() {
		t.Errorf("headers differ: %+v vs %+v", a.Header(), b.Header())
	}
	h := b.Header()
	if h.Kind != KindSPSC || h.DataSize != 3*4096+100 || h.CreatorPID != int64(os.Getpid()) ||
		h.CreatorStart != Self().StartTime || !bytes.HasPrefix(h.Param[:], param) {
		t.Errorf("header %+v", h)
	}
	da, db := a.Data(), b.Data()
	if len(da) != 3*4096+100 || cap(da) != len(da) || len(db) != len(da) {
		t.Fatalf("data len %d cap %d, other %d", len(da), cap(da), len(db))
	}
	if p := uintptr(unsafe.Pointer(&db[0])); p%4096 != 0 {
		t.Errorf("data region at %#x is not page aligned", p)
	}
	for i, c := range da {
		if c != 0 {
			t.Fatalf("data byte %d is %d, want zero", i, c)
		}
	}
	// Both mappings are the same memory.
	atomic.StoreUint64((*uint64)(unsafe.Pointer(&da[4096])), 0xfeed)
	if got := atomic.LoadUint64((*uint64)(unsafe.Pointer(&db[4096]))); got != 0xfeed {
		t.Errorf("shared word reads %#x", got)
	}
	if !strings.Contains(logs.String(), "segment created") {
		t.Errorf("no create log: %q", logs.String())
	}
	if names, err := List(dir); err != nil || len(names) != 1 || names[0] != "ring.a" {
		t.Errorf("List = %q, %v (temporary file left behind?)", names, err)
	}
	if _, err := Open("ring.a", KindAny, WithDir(dir)); err != nil {
		t.Errorf("Open KindAny: %v", err)
	}
}

func TestCreatePermissions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "private")
	s, err := Create("p", KindCounters, 0, WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkMode(t, s.Path(), 0o600)
	checkMode(t, dir, os.ModeDir|0o700)

	gdir := filepath.Join(t.TempDir(), "group")
	g, err := Create("g", KindCounters, 0, WithDir(gdir), WithGroup(os.Getgid()))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	checkMode(t, g.Path(), 0o660)
	checkMode(t, gdir, os.ModeDir|0o750)
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
	}
}

func TestCreateExists(t *testing.T) {
	dir := t.TempDir()
	s, err := Create("x", KindMPMC, 64, WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = Create("x", KindMPMC, 64, WithDir(dir))
	if !errors.Is(err, ErrExists) || !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), `"`+s.Path()+`"`) {
		t.Fatalf("second Create: %v", err)
	}
	if names, _ := List(dir); len(names) != 1 {
		t.Errorf("List after failed Create = %q", names)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestCreateInvalid(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"", ".", "..", ".hidden", "a/b", "a\x00b", strings.Repeat("n", MaxNameLen+1)} {
		if _, err := Create(name, KindSPSC, 64, WithDir(dir)); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Create(%q): %v", name, err)
		}
		if _, err := Open(name, KindSPSC, WithDir(dir)); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Open(%q): %v", name, err)
		}
	}
	if _, err := Create(strings.Repeat("n", MaxNameLen), KindSPSC, 64, WithDir(dir)); err != nil {
		t.Errorf("Create with a %d-byte name: %v", MaxNameLen, err)
	}
	for _, o := range []Option{WithDir(""), WithGroup(-1), WithLogger(nil), WithParam(make([]byte, ParamSize+1)), nil} {
		if _, err := Create("o", KindSPSC, 64, WithDir(dir), o); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("bad option: %v", err)
		}
	}
	if _, err := Create("k", KindAny, 64, WithDir(dir)); !errors.Is(err, ErrWrongKind) {
		t.Errorf("KindAny: %v", err)
	}
	if _, err := Create("k", Kind(9), 64, WithDir(dir)); !errors.Is(err, ErrWrongKind) {
		t.Errorf("Kind(9): %v", err)
	}
	if _, err := Create("n", KindSPSC, -1, WithDir(dir)); !errors.Is(err, ErrBadSize) {
		t.Errorf("negative size: %v", err)
	}
}

func TestCloseRemove(t *testing.T) {
	dir := t.TempDir()
	s, err := Create("r", KindSPSC, 4096, WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	s.Data()[0] = 1 // still mapped after Remove
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if s.Data() != nil {
		t.Error("Data after Close is not nil")
	}
	if err := s.Remove(); !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second Remove: %v", err)
	}
	s2, err := Create("r", KindSPSC, 4096, WithDir(dir))
	if err != nil {
		t.Fatalf("re-Create after Remove: %v", err)
	}
	s2.Close()
	if err := Remove(dir, "r"); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, "../r"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Remove bad name: %v", err)
	}
	if names, err := List(filepath.Join(dir, "missing")); names != nil || err != nil {
		t.Errorf("List of a missing dir = %q, %v", names, err)
	}
}
