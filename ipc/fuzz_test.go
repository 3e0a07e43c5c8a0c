package ipc

import (
	"bytes"
	"testing"
)

// FuzzValidateHeader: ValidateHeader must never panic, and whatever it
// accepts must re-encode to the same bytes and agree with the file size.
// Seeds: f.Add below plus testdata/fuzz/FuzzValidateHeader.
func FuzzValidateHeader(f *testing.F) {
	valid := make([]byte, EncodedHeaderLen)
	if err := EncodeHeader(valid, testHeader()); err != nil {
		f.Fatal(err)
	}
	f.Add(valid, uint16(KindSPSC), int64(HeaderSize+8192))
	f.Add(valid, uint16(KindMPMC), int64(HeaderSize+8192))
	f.Add(valid, uint16(KindSPSC), int64(-1))
	f.Add(valid[:10], uint16(KindSPSC), int64(HeaderSize))
	f.Add([]byte{}, uint16(0), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, want uint16, fileSize int64) {
		h, err := ValidateHeader(b, Kind(want), fileSize)
		if err != nil {
			return
		}
		if Kind(want) != KindAny && h.Kind != Kind(want) {
			t.Fatalf("accepted kind %s, want %s", h.Kind, Kind(want))
		}
		if int64(h.HeaderSize)+int64(h.DataSize) != fileSize {
			t.Fatalf("accepted %d+%d for a %d-byte file", h.HeaderSize, h.DataSize, fileSize)
		}
		re := make([]byte, EncodedHeaderLen)
		if err := EncodeHeader(re, h); err != nil {
			t.Fatal(err)
		}
		// The pad bytes are covered by the checksum but not decoded; a
		// header with non-zero pad that passes the checksum re-encodes
		// differently only there.
		copy(re[offPad:offPad+sizePad], b[offPad:offPad+sizePad])
		if !bytes.Equal(re[:offChecksum], b[:offChecksum]) {
			t.Fatalf("re-encoding differs:\n got %x\nwant %x", re[:offChecksum], b[:offChecksum])
		}
	})
}
