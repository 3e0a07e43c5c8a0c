package ipc

import (
	"errors"
	"strings"
	"testing"
)

func TestHeaderLayout(t *testing.T) {
	fields := []struct {
		name      string
		off, size int
	}{
		{"magic", offMagic, sizeMagic},
		{"version", offVersion, sizeVersion},
		{"kind", offKind, sizeKind},
		{"flags", offFlags, sizeFlags},
		{"header size", offHeaderSize, sizeHdrSize},
		{"pad", offPad, sizePad},
		{"data size", offDataSize, sizeDataSize},
		{"creator pid", offCreatorPID, sizeCreatorPD},
		{"creator start", offCreatorST, sizeCreatorST},
		{"created", offCreated, sizeCreated},
		{"param", offParam, sizeParam},
		{"checksum", offChecksum, sizeChecksum},
	}
	end := 0
	for _, f := range fields {
		align := min(f.size, 8)
		if f.off%align != 0 {
			t.Errorf("%s at %d is not %d-aligned", f.name, f.off, align)
		}
		if f.off < end {
			t.Errorf("%s at %d overlaps the previous field ending at %d", f.name, f.off, end)
		}
		end = f.off + f.size
	}
	if end != EncodedHeaderLen || end > HeaderSize {
		t.Errorf("fields end at %d; EncodedHeaderLen %d, HeaderSize %d", end, EncodedHeaderLen, HeaderSize)
	}
	if offChecksum != EncodedHeaderLen-sizeChecksum {
		t.Errorf("checksum must be the last field")
	}
	if HeaderSize%4096 != 0 {
		t.Errorf("HeaderSize %d is not a multiple of 4096", HeaderSize)
	}
}

func testHeader() Header {
	h := Header{Version: LayoutVersion, Kind: KindSPSC, HeaderSize: HeaderSize, DataSize: 8192,
		CreatorPID: 42, CreatorStart: 7, CreatedNanos: 1e18}
	copy(h.Param[:], "capacity=1024")
	return h
}

func encoded(t testing.TB, h Header) []byte {
	b := make([]byte, HeaderSize)
	if err := EncodeHeader(b, h); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHeaderRoundTrip(t *testing.T) {
	h := testHeader()
	got, err := ValidateHeader(encoded(t, h), KindSPSC, HeaderSize+8192)
	if err != nil {
		t.Fatal(err)
	}
	h.Checksum = got.Checksum
	if got != h {
		t.Errorf("decoded %+v, want %+v", got, h)
	}
	if _, err := ValidateHeader(encoded(t, h), KindAny, HeaderSize+8192); err != nil {
		t.Errorf("KindAny: %v", err)
	}
	if err := EncodeHeader(make([]byte, EncodedHeaderLen-1), h); !errors.Is(err, ErrShortBuffer) {
		t.Errorf("short EncodeHeader: %v", err)
	}
}

func TestValidateHeaderErrors(t *testing.T) {
	const fileSize = HeaderSize + 8192
	reencode := func(f func(*Header)) func([]byte) []byte {
		return func([]byte) []byte { h := testHeader(); f(&h); return encoded(t, h) }
	}
	tests := []struct {
		name     string
		mutate   func([]byte) []byte
		want     Kind
		fileSize int64
		sentinel error
		msg      string
	}{
		{"short", func(b []byte) []byte { return b[:EncodedHeaderLen-1] }, KindSPSC, fileSize, ErrTruncated, "need 124"},
		{"magic", func(b []byte) []byte { b[0] = 'X'; return b }, KindSPSC, fileSize, ErrBadMagic, "magic is"},
		{"version", reencode(func(h *Header) { h.Version = 2 }), KindSPSC, fileSize, ErrBadVersion, "layout version 2"},
		{"checksum", func(b []byte) []byte { b[offDataSize] ^= 1; return b }, KindSPSC, fileSize, ErrBadChecksum, "checksum"},
		{"kind", reencode(func(*Header) {}), KindMPMC, fileSize, ErrWrongKind, "file is spsc, want mpmc"},
		{"unknown kind", reencode(func(h *Header) { h.Kind = 99 }), KindAny, fileSize, ErrWrongKind, "kind(99)"},
		{"header size", reencode(func(h *Header) { h.HeaderSize = 128 }), KindSPSC, fileSize, ErrBadSize, "header size is 128"},
		{"huge data", reencode(func(h *Header) { h.DataSize = 1 << 63 }), KindSPSC, fileSize, ErrBadSize, "limit"},
		{"file short", reencode(func(*Header) {}), KindSPSC, fileSize - 1, ErrTruncated, "header says 4096+8192"},
		{"file long", reencode(func(*Header) {}), KindSPSC, fileSize + 4096, ErrBadSize, "header says 4096+8192"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(encoded(t, testHeader()))
			_, err := ValidateHeader(b, tt.want, tt.fileSize)
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("got %v, want %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindAny: "any", KindSPSC: "spsc", KindMPMC: "mpmc",
		KindCounters: "counters", KindControl: "control", 77: "kind(77)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
