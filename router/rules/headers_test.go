package rules

import (
	"errors"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
)

func set(k, v string) HeaderEdit { return HeaderEdit{Op: OpSet, Key: []byte(k), Value: []byte(v)} }
func del(k string) HeaderEdit    { return HeaderEdit{Op: OpRemove, Key: []byte(k)} }

func TestEditHeaders(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   []byte
		edits []HeaderEdit
		want  string
	}{
		{"no edits", block("a", "1", "b", "2"), nil, "a=1 b=2"},
		{"set new on empty", nil, []HeaderEdit{set("a", "1")}, "a=1"},
		{"set new", block("a", "1"), []HeaderEdit{set("b", "2")}, "a=1 b=2"},
		{"set existing moves to end", block("a", "1", "b", "2"), []HeaderEdit{set("a", "9")}, "b=2 a=9"},
		{"set repeated key", block("a", "1", "a", "2"), []HeaderEdit{set("a", "3")}, "a=3"},
		{"remove", block("a", "1", "b", "2", "a", "3"), []HeaderEdit{del("a")}, "b=2"},
		{"remove all", block("a", "1"), []HeaderEdit{del("a")}, ""},
		{"remove absent", block("a", "1"), []HeaderEdit{del("x")}, "a=1"},
		{"set then remove", nil, []HeaderEdit{set("a", "1"), del("a")}, ""},
		{"remove then set", block("a", "0"), []HeaderEdit{del("a"), set("a", "1")}, "a=1"},
		{"last set wins", nil, []HeaderEdit{set("a", "1"), set("b", "2"), set("a", "3")}, "b=2 a=3"},
		{"case-sensitive", block("A", "1"), []HeaderEdit{del("a")}, "A=1"},
	} {
		got, err := EditHeaders(nil, tc.src, tc.edits)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if p := pairs(got); p != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, p, tc.want)
		}
		if tc.want == "" && len(got) != 0 {
			t.Errorf("%s: empty result is %d bytes", tc.name, len(got))
		}
	}
}

func TestEditHeadersAppends(t *testing.T) {
	dst := []byte("prefix")
	src := block("a", "1")
	out, err := EditHeaders(dst, src, []HeaderEdit{set("b", "2")})
	if err != nil || string(out[:6]) != "prefix" || pairs(out[6:]) != "a=1 b=2" {
		t.Fatalf("%q %v", out, err)
	}
	// src inside dst's backing array, before len(dst), as Apply does.
	buf := make([]byte, 0, 256)
	buf = append(buf, src...)
	out, err = EditHeaders(buf, buf[:len(src)], []HeaderEdit{set("c", "3")})
	if err != nil || pairs(out[len(src):]) != "a=1 c=3" || pairs(out[:len(src)]) != "a=1" {
		t.Fatalf("in place: %q %v", out, err)
	}
}

func TestEditHeadersErrors(t *testing.T) {
	dst := []byte("keep")
	out, err := EditHeaders(dst, []byte{1, 0, 9}, []HeaderEdit{set("a", "1")})
	if !errors.Is(err, wire.ErrBadFrame) || string(out) != "keep" {
		t.Fatalf("malformed src: %q %v", out, err)
	}
	for _, bad := range []HeaderEdit{{Op: OpSet}, {Key: []byte("a")}, {Op: 9, Key: []byte("a")}} {
		out, err = EditHeaders(dst, nil, []HeaderEdit{bad})
		if !errors.Is(err, wire.ErrBadFrame) || string(out) != "keep" {
			t.Fatalf("bad edit %+v: %q %v", bad, out, err)
		}
	}
	big := strings.Repeat("v", wire.MaxHeaderLen)
	out, err = EditHeaders(dst, block("a", big), []HeaderEdit{set("b", "x")})
	if !errors.Is(err, wire.ErrBadFrame) || string(out) != "keep" {
		t.Fatalf("too big: %q %v", out, err)
	}
}

func TestEditHeadersAllocs(t *testing.T) {
	src := block("a", "1", "b", "2", "c", "3")
	edits := []HeaderEdit{set("b", "9"), del("c")}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { _, _ = EditHeaders(buf[:0], src, edits) }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
