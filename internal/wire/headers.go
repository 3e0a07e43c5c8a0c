package wire

import "fmt"

// Header block: u16 count, then count x (u16 key length, key, u32 value
// length, value). A key with several values repeats, in order.

// AppendHeaders appends the block encoding h to dst. Keys are written in
// the order given by keys (callers sort them when they want determinism).
func AppendHeaders(dst []byte, h map[string][]string) []byte {
	count := 0
	for _, vs := range h {
		count += len(vs)
	}
	if count == 0 {
		return dst
	}
	dst = le.AppendUint16(dst, uint16(count))
	for k, vs := range h {
		for _, v := range vs {
			dst = le.AppendUint16(dst, uint16(len(k)))
			dst = append(dst, k...)
			dst = le.AppendUint32(dst, uint32(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

// CheckHeaders validates a header block without allocating.
func CheckHeaders(b []byte) error {
	return RangeHeaders(b, func(k, v []byte) bool { return true })
}

// RangeHeaders calls f for each key/value pair in the block, stopping when
// f returns false. It validates as it goes.
func RangeHeaders(b []byte, f func(k, v []byte) bool) error {
	if len(b) == 0 {
		return nil
	}
	if len(b) < 2 {
		return fmt.Errorf("header block of %d bytes: %w", len(b), ErrBadFrame)
	}
	count := int(le.Uint16(b))
	n := 2
	for i := 0; i < count; i++ {
		if n+2 > len(b) {
			return fmt.Errorf("header %d: key length past the block: %w", i, ErrBadFrame)
		}
		kl := int(le.Uint16(b[n:]))
		n += 2
		if kl == 0 || n+kl+4 > len(b) {
			return fmt.Errorf("header %d: key of %d bytes past the block: %w", i, kl, ErrBadFrame)
		}
		k := b[n : n+kl]
		n += kl
		vl := int(le.Uint32(b[n:]))
		n += 4
		if vl > len(b)-n {
			return fmt.Errorf("header %d (%q): value of %d bytes past the block: %w", i, k, vl, ErrBadFrame)
		}
		v := b[n : n+vl]
		n += vl
		if !f(k, v) {
			return nil
		}
	}
	if n != len(b) {
		return fmt.Errorf("header block: %d trailing bytes: %w", len(b)-n, ErrBadFrame)
	}
	return nil
}

// DecodeHeaders builds a map from a header block (allocates; for the
// client API, not the router's hot path).
func DecodeHeaders(b []byte) (map[string][]string, error) {
	if len(b) == 0 {
		return nil, nil
	}
	h := make(map[string][]string)
	err := RangeHeaders(b, func(k, v []byte) bool {
		h[string(k)] = append(h[string(k)], string(v))
		return true
	})
	return h, err
}
