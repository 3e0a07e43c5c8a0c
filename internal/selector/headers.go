package selector

import "encoding/binary"

// The header block layout is internal/wire's (see wire.RangeHeaders): a u16
// count, then count x (u16 key length, key, u32 value length, value), keys
// non-empty, no trailing bytes. wire.RangeHeaders builds an error on
// malformed input; Eval must not allocate even then, so these two walkers
// repeat the checks without errors. FuzzEval checks that they agree with
// wire.CheckHeaders.

var le = binary.LittleEndian

// validBlock reports whether b is a well-formed header block.
func validBlock(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	if len(b) < 2 {
		return false
	}
	count := int(le.Uint16(b))
	n := 2
	for i := 0; i < count; i++ {
		if n+2 > len(b) {
			return false
		}
		kl := int(le.Uint16(b[n:]))
		n += 2
		if kl == 0 || n+kl+4 > len(b) {
			return false
		}
		n += kl
		vl := int(le.Uint32(b[n:]))
		n += 4
		if vl > len(b)-n {
			return false
		}
		n += vl
	}
	return n == len(b)
}

// lookup returns the first value of key in b, which validBlock accepted.
func lookup(b, key []byte) ([]byte, bool) {
	if len(b) < 2 {
		return nil, false
	}
	count := int(le.Uint16(b))
	n := 2
	for i := 0; i < count; i++ {
		kl := int(le.Uint16(b[n:]))
		n += 2
		k := b[n : n+kl]
		n += kl
		vl := int(le.Uint32(b[n:]))
		n += 4
		if string(k) == string(key) {
			return b[n : n+vl], true
		}
		n += vl
	}
	return nil, false
}
