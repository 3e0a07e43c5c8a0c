package persist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Record framing. These constants are part of the on-disk format: changing
// any of them needs a new segment format version (see doc.go).
//
//	0       4       8    9              16              24              32
//	+-------+-------+----+--------------+---------------+---------------+----------
//	| crc   | len   |type| reserved (0) | seq           | time          | payload
//	| u32   | u32   | u8 | [7]byte      | u64           | i64 unix ns   | len bytes
//	+-------+-------+----+--------------+---------------+---------------+----------
//
// crc is CRC-32C (Castagnoli) over bytes [4, 32+len): everything after
// itself, so a change to the length, type, sequence, time or payload is
// caught. Type 0 is never written, so an all-zero header is recognisably
// "nothing here" (ErrZeroedRecord) rather than a record.
const (
	recordHeaderSize = 32
	offCRC           = 0
	offLen           = 4
	offType          = 8
	offReserved      = 9
	offSeq           = 16
	offTime          = 24

	// MaxRecordLimit caps a record's payload length whatever the options:
	// a header claiming more is invalid, not truncated.
	MaxRecordLimit = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one decoded record. Payload aliases the reader's buffer: it is
// valid until the next call on the reader that returned it.
type Record struct {
	Seq     uint64
	Time    int64 // unix nanoseconds, assigned by Append; never decreases with Seq
	Type    uint8
	Payload []byte
}

// recordSize is the number of bytes a record with this payload occupies.
func recordSize(payloadLen int) int { return recordHeaderSize + payloadLen }

// appendRecord frames a record onto dst and returns the extended slice. It
// allocates only if dst lacks capacity.
func appendRecord(dst []byte, typ uint8, seq uint64, ts int64, payload []byte) []byte {
	start := len(dst)
	n := recordSize(len(payload))
	if cap(dst)-start < n {
		grown := make([]byte, start, 2*cap(dst)+n)
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+n]
	h := dst[start : start+recordHeaderSize]
	binary.LittleEndian.PutUint32(h[offLen:], uint32(len(payload)))
	h[offType] = typ
	clear(h[offReserved:offSeq])
	binary.LittleEndian.PutUint64(h[offSeq:], seq)
	binary.LittleEndian.PutUint64(h[offTime:], uint64(ts))
	copy(dst[start+recordHeaderSize:], payload)
	binary.LittleEndian.PutUint32(h[offCRC:], crc32.Checksum(dst[start+offLen:start+n], castagnoli))
	return dst
}

// decodeRecord decodes the record at the start of b, returning it and its
// size in bytes. Errors, checked in this order: ErrTruncatedRecord (header
// or payload cut short; ErrZeroedRecord if the short header is all zeros),
// ErrZeroedRecord, ErrInvalidRecord (length over MaxRecordLimit),
// ErrInvalidChecksum, ErrInvalidRecord (type 0 or reserved bytes set, which
// a matching checksum makes all but impossible).
func decodeRecord(b []byte) (Record, int, error) {
	if len(b) < recordHeaderSize {
		if allZero(b) {
			return Record{}, 0, ErrZeroedRecord
		}
		return Record{}, 0, fmt.Errorf("%w: %d header bytes of %d", ErrTruncatedRecord, len(b), recordHeaderSize)
	}
	h := b[:recordHeaderSize]
	if allZero(h) {
		return Record{}, 0, ErrZeroedRecord
	}
	n := binary.LittleEndian.Uint32(h[offLen:])
	if n > MaxRecordLimit {
		return Record{}, 0, fmt.Errorf("%w: length %d", ErrInvalidRecord, n)
	}
	size := recordHeaderSize + int(n)
	if size > len(b) {
		return Record{}, 0, fmt.Errorf("%w: length %d, %d bytes left", ErrTruncatedRecord, n, len(b)-recordHeaderSize)
	}
	want := binary.LittleEndian.Uint32(h[offCRC:])
	if got := crc32.Checksum(b[offLen:size], castagnoli); got != want {
		return Record{}, 0, fmt.Errorf("%w: stored %#08x, computed %#08x", ErrInvalidChecksum, want, got)
	}
	if h[offType] == 0 || !allZero(h[offReserved:offSeq]) {
		return Record{}, 0, fmt.Errorf("%w: type %d, reserved % x", ErrInvalidRecord, h[offType], h[offReserved:offSeq])
	}
	return Record{
		Seq:     binary.LittleEndian.Uint64(h[offSeq:]),
		Time:    int64(binary.LittleEndian.Uint64(h[offTime:])),
		Type:    h[offType],
		Payload: b[recordHeaderSize:size:size],
	}, size, nil
}

// peekRecord reads the length and sequence of a record known to be valid
// (framed by appendRecord in this process).
func peekRecord(b []byte) (size int, seq uint64, ts int64) {
	return recordHeaderSize + int(binary.LittleEndian.Uint32(b[offLen:])),
		binary.LittleEndian.Uint64(b[offSeq:]), int64(binary.LittleEndian.Uint64(b[offTime:]))
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
