package rules

import (
	"encoding/binary"
	"fmt"

	"github.com/shmbus/shmbus/internal/wire"
)

// EditOp is what a HeaderEdit does.
type EditOp uint8

const (
	// OpSet replaces every value of Key with the one Value.
	OpSet EditOp = iota + 1
	// OpRemove removes every value of Key.
	OpRemove
)

// HeaderEdit is one change to a header block. Keys compare byte-for-byte
// (case-sensitively), as everywhere in shmbus.
type HeaderEdit struct {
	Op    EditOp
	Key   []byte
	Value []byte // OpSet only
}

var le = binary.LittleEndian

// EditHeaders appends to dst the header block src (internal/wire's
// encoding) with edits applied in order, and returns the extended dst.
// The pairs of keys no edit touches keep their order; a key whose last
// edit is OpSet appears once, with that value, after them (in the order of
// those last edits); a key whose last edit is OpRemove is gone. A block
// left with no pairs is encoded as zero bytes, as wire.AppendHeaders does.
//
// It allocates only to grow dst. src may lie inside dst's backing array
// before len(dst) (Apply edits blocks in its own buffer). The error wraps
// wire.ErrBadFrame when src is malformed, an edit has no valid Op or a key
// that is empty or over 65535 bytes, or the result would exceed
// wire.MaxHeaderLen or 65535 pairs; dst is then returned unchanged.
func EditHeaders(dst, src []byte, edits []HeaderEdit) ([]byte, error) {
	for i := range edits {
		e := &edits[i]
		if e.Op != OpSet && e.Op != OpRemove || len(e.Key) == 0 || len(e.Key) > 0xffff {
			return dst, fmt.Errorf("header edit %d: op %d, key of %d bytes: %w", i, e.Op, len(e.Key), wire.ErrBadFrame)
		}
	}
	if err := wire.CheckHeaders(src); err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, 0, 0) // the count, patched below
	count := 0
	if len(src) > 0 {
		n := 2
		for i := int(le.Uint16(src)); i > 0; i-- {
			kl := int(le.Uint16(src[n:]))
			k := src[n+2 : n+2+kl]
			vl := int(le.Uint32(src[n+2+kl:]))
			end := n + 2 + kl + 4 + vl
			if !touched(edits, k) {
				dst = append(dst, src[n:end]...)
				count++
			}
			n = end
		}
	}
	for i, e := range edits {
		if e.Op != OpSet || touched(edits[i+1:], e.Key) {
			continue
		}
		dst = le.AppendUint16(dst, uint16(len(e.Key)))
		dst = append(dst, e.Key...)
		dst = le.AppendUint32(dst, uint32(len(e.Value)))
		dst = append(dst, e.Value...)
		count++
	}
	switch {
	case count == 0:
		return dst[:start], nil
	case count > 0xffff || len(dst)-start > wire.MaxHeaderLen:
		return dst[:start], fmt.Errorf("edited header block of %d pairs, %d bytes exceeds the limits: %w", count, len(dst)-start, wire.ErrBadFrame)
	}
	le.PutUint16(dst[start:], uint16(count))
	return dst, nil
}

// touched reports whether any edit names key.
func touched(edits []HeaderEdit, key []byte) bool {
	for i := range edits {
		if string(edits[i].Key) == string(key) {
			return true
		}
	}
	return false
}
