package persist

import (
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Codec compresses sealed segments. The codec is recorded in each segment's
// header, so a log can change codec between opens and still read old
// segments.
type Codec uint8

const (
	CodecNone Codec = iota // stored as written
	CodecZstd              // zstd, fastest level
	CodecS2                // s2 block format
)

func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecZstd:
		return "zstd"
	case CodecS2:
		return "s2"
	}
	return fmt.Sprintf("Codec(%d)", uint8(c))
}

// ParseCodec reads "none", "zstd" or "s2".
func ParseCodec(s string) (Codec, error) {
	for _, c := range []Codec{CodecNone, CodecZstd, CodecS2} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: codec %q (want none, zstd or s2)", ErrInvalidOption, s)
}

// One encoder and decoder for the process: EncodeAll and DecodeAll are safe
// for concurrent use.
var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
	zstdErr  error
)

func zstdCodec() (*zstd.Encoder, *zstd.Decoder, error) {
	zstdOnce.Do(func() {
		zstdEnc, zstdErr = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if zstdErr == nil {
			zstdDec, zstdErr = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxRecordLimit))
		}
	})
	return zstdEnc, zstdDec, zstdErr
}

// compress returns raw compressed with c, appended to dst.
func compress(c Codec, dst, raw []byte) ([]byte, error) {
	switch c {
	case CodecZstd:
		enc, _, err := zstdCodec()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(raw, dst), nil
	case CodecS2:
		return append(dst, s2.Encode(nil, raw)...), nil
	}
	return append(dst, raw...), nil
}

// decompress returns body decompressed with c; rawSize (from the header)
// must match.
func decompress(c Codec, body []byte, rawSize int64) ([]byte, error) {
	var raw []byte
	var err error
	switch c {
	case CodecZstd:
		var dec *zstd.Decoder
		if _, dec, err = zstdCodec(); err == nil {
			raw, err = dec.DecodeAll(body, make([]byte, 0, rawSize))
		}
	case CodecS2:
		var n int
		if n, err = s2.DecodedLen(body); err == nil {
			if int64(n) != rawSize {
				return nil, fmt.Errorf("decoded length %d, header says %d", n, rawSize)
			}
			raw, err = s2.Decode(nil, body)
		}
	default:
		raw = body
	}
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) != rawSize {
		return nil, fmt.Errorf("decompressed %d bytes, header says %d", len(raw), rawSize)
	}
	return raw, nil
}
