package ipc

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Header layout, layout version 1. All fields little-endian, independent of
// the CPU. These constants are part of the on-disk format: change them only
// together with LayoutVersion.
//
//	0       8      12    14    16     20     24          32          40          48          56           120    124 .. 4096
//	+-------+------+-----+-----+------+------+-----------+-----------+-----------+-----------+------------+------+---------+
//	| magic | vers | kind|flags| hsize| pad  | data size | creator   | creator   | created   | param      | crc  | zero    |
//	| [8]b  | u32  | u16 | u16 | u32  | u32  | u64       | pid i64   | start u64 | ns i64    | [64]byte   | u32  | ...     |
//	+-------+------+-----+-----+------+------+-----------+-----------+-----------+-----------+------------+------+---------+
//	crc = CRC32-C (Castagnoli) over bytes [0, 120); the data region starts at HeaderSize = 4096.
//
// Each offset is the previous offset plus the previous field's size, so the
// diagram and the constants cannot drift apart silently: header_test.go
// checks that every field is naturally aligned and that none overlap.
const (
	offMagic      = 0
	sizeMagic     = 8
	offVersion    = offMagic + sizeMagic
	sizeVersion   = 4
	offKind       = offVersion + sizeVersion
	sizeKind      = 2
	offFlags      = offKind + sizeKind
	sizeFlags     = 2
	offHeaderSize = offFlags + sizeFlags
	sizeHdrSize   = 4
	offPad        = offHeaderSize + sizeHdrSize // keeps the u64s 8-aligned
	sizePad       = 4
	offDataSize   = offPad + sizePad
	sizeDataSize  = 8
	offCreatorPID = offDataSize + sizeDataSize
	sizeCreatorPD = 8
	offCreatorST  = offCreatorPID + sizeCreatorPD
	sizeCreatorST = 8
	offCreated    = offCreatorST + sizeCreatorST
	sizeCreated   = 8
	offParam      = offCreated + sizeCreated
	sizeParam     = ParamSize
	offChecksum   = offParam + sizeParam
	sizeChecksum  = 4
	headerEnd     = offChecksum + sizeChecksum

	// EncodedHeaderLen is how many bytes the fields take; ValidateHeader
	// needs at least this many. The rest of the first page is zero.
	EncodedHeaderLen = headerEnd
	// HeaderSize is the space reserved for the header: one 4 KiB page, so
	// the data region that follows is page aligned.
	HeaderSize = 4096
	// ParamSize is the size of the app-defined parameter area.
	ParamSize = 64
	// LayoutVersion is the header layout this build writes and reads.
	LayoutVersion = 1
)

// magic starts every segment file ("SHMBUS\x00\x01").
var magic = [sizeMagic]byte{'S', 'H', 'M', 'B', 'U', 'S', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the decoded, immutable segment header. Nothing in the header
// changes after Create; all mutable shared state lives in the data region.
type Header struct {
	Version      uint32          // layout version (LayoutVersion)
	Kind         Kind            // what the data region holds
	Flags        uint16          // reserved, zero in layout version 1
	HeaderSize   uint32          // bytes before the data region (HeaderSize)
	DataSize     uint64          // bytes in the data region
	CreatorPID   int64           // PID of the creating process
	CreatorStart uint64          // its start time, clock ticks since boot
	CreatedNanos int64           // wall clock at creation, Unix ns (for humans, not for ordering)
	Param        [ParamSize]byte // app-defined (e.g. ring capacity)
	Checksum     uint32          // CRC32-C of bytes [0, 120)
}

// EncodeHeader writes h, the magic and a fresh checksum into dst, which must
// hold at least EncodedHeaderLen bytes. h.Checksum is ignored. The checksum
// is written last.
func EncodeHeader(dst []byte, h Header) error {
	if len(dst) < EncodedHeaderLen {
		return fmt.Errorf("encode header: %d bytes, need %d: %w", len(dst), EncodedHeaderLen, ErrShortBuffer)
	}
	le := binary.LittleEndian
	copy(dst[offMagic:], magic[:])
	le.PutUint32(dst[offVersion:], h.Version)
	le.PutUint16(dst[offKind:], uint16(h.Kind))
	le.PutUint16(dst[offFlags:], h.Flags)
	le.PutUint32(dst[offHeaderSize:], h.HeaderSize)
	le.PutUint32(dst[offPad:], 0)
	le.PutUint64(dst[offDataSize:], h.DataSize)
	le.PutUint64(dst[offCreatorPID:], uint64(h.CreatorPID))
	le.PutUint64(dst[offCreatorST:], h.CreatorStart)
	le.PutUint64(dst[offCreated:], uint64(h.CreatedNanos))
	copy(dst[offParam:offParam+sizeParam], h.Param[:])
	le.PutUint32(dst[offChecksum:], crc32.Checksum(dst[:offChecksum], castagnoli))
	return nil
}

// ValidateHeader decodes and checks the header at the start of b for a file
// of fileSize bytes. want is the kind the caller expects (KindAny accepts
// any known kind). It does no I/O and never panics on any input.
//
// Checks, in order: length (ErrTruncated), magic (ErrBadMagic), version
// (ErrBadVersion), checksum (ErrBadChecksum), kind (ErrWrongKind), then
// header size and data size against fileSize (ErrBadSize, ErrTruncated).
// The checksum is checked before the fields it protects are trusted.
func ValidateHeader(b []byte, want Kind, fileSize int64) (Header, error) {
	var h Header
	if len(b) < EncodedHeaderLen {
		return h, fmt.Errorf("header is %d bytes, need %d: %w", len(b), EncodedHeaderLen, ErrTruncated)
	}
	le := binary.LittleEndian
	if [sizeMagic]byte(b[offMagic:offMagic+sizeMagic]) != magic {
		return h, fmt.Errorf("magic is %q, want %q: %w", b[offMagic:offMagic+sizeMagic], magic[:], ErrBadMagic)
	}
	h.Version = le.Uint32(b[offVersion:])
	if h.Version != LayoutVersion {
		return h, fmt.Errorf("file has layout version %d, this build reads %d: %w", h.Version, LayoutVersion, ErrBadVersion)
	}
	h.Checksum = le.Uint32(b[offChecksum:])
	if sum := crc32.Checksum(b[:offChecksum], castagnoli); sum != h.Checksum {
		return h, fmt.Errorf("header checksum is %#08x, computed %#08x: %w", h.Checksum, sum, ErrBadChecksum)
	}
	h.Kind = Kind(le.Uint16(b[offKind:]))
	h.Flags = le.Uint16(b[offFlags:])
	h.HeaderSize = le.Uint32(b[offHeaderSize:])
	h.DataSize = le.Uint64(b[offDataSize:])
	h.CreatorPID = int64(le.Uint64(b[offCreatorPID:]))
	h.CreatorStart = le.Uint64(b[offCreatorST:])
	h.CreatedNanos = int64(le.Uint64(b[offCreated:]))
	copy(h.Param[:], b[offParam:offParam+sizeParam])

	if !h.Kind.known() || (want != KindAny && h.Kind != want) {
		return h, fmt.Errorf("wrong kind: file is %s, want %s: %w", h.Kind, want, ErrWrongKind)
	}
	if h.HeaderSize != HeaderSize {
		return h, fmt.Errorf("header size is %d, want %d: %w", h.HeaderSize, HeaderSize, ErrBadSize)
	}
	// Overflow-safe: DataSize may be any uint64.
	if h.DataSize > uint64(maxDataSize) {
		return h, fmt.Errorf("data size %d exceeds the %d-byte limit: %w", h.DataSize, int64(maxDataSize), ErrBadSize)
	}
	need := int64(h.HeaderSize) + int64(h.DataSize)
	switch {
	case fileSize < need:
		return h, fmt.Errorf("file is %d bytes, header says %d+%d: %w", fileSize, h.HeaderSize, h.DataSize, ErrTruncated)
	case fileSize > need:
		return h, fmt.Errorf("file is %d bytes, header says %d+%d: %w", fileSize, h.HeaderSize, h.DataSize, ErrBadSize)
	}
	return h, nil
}

// maxDataSize bounds the data region (1 TiB): far above any real ring and
// far below int overflow on 64-bit hosts.
const maxDataSize = 1 << 40
