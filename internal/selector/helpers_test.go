package selector

import "encoding/binary"

// block encodes key/value pairs, in order and with repeats, as a header
// block (wire.AppendHeaders takes a map, so its order is random).
func block(kv ...string) []byte {
	if len(kv) == 0 {
		return nil
	}
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(kv)/2))
	for i := 0; i+1 < len(kv); i += 2 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(kv[i])))
		b = append(b, kv[i]...)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(kv[i+1])))
		b = append(b, kv[i+1]...)
	}
	return b
}
