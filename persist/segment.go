package persist

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Segment file header, 64 bytes, part of the on-disk format (doc.go draws
// it). Every segment starts with one; Open validates it (magic, version,
// checksum, base against the file name) before reading any record.
const (
	segmentHeaderSize = 64
	// SegmentVersion is the on-disk format version this code writes and
	// reads. A change to the header or record framing bumps it.
	SegmentVersion = 1

	shOffMagic     = 0
	shOffVersion   = 8
	shOffCodec     = 12
	shOffBase      = 16
	shOffCreated   = 24
	shOffRawSize   = 32
	shOffFirstTime = 40
	shOffCRC       = 56

	segmentExt = ".seg"
	tmpExt     = ".tmp"
)

var segmentMagic = [8]byte{'S', 'H', 'M', 'B', 'J', 'R', 'N', 'L'}

// segHeader is a decoded segment header.
type segHeader struct {
	codec     Codec
	base      uint64 // sequence number the segment was started for (its name)
	created   int64  // unix ns
	rawSize   int64  // compressed segments: bytes of records once decompressed
	firstTime int64  // compressed segments: time of the first record (0: empty)
}

func (h segHeader) encode() []byte {
	b := make([]byte, segmentHeaderSize)
	copy(b[shOffMagic:], segmentMagic[:])
	binary.LittleEndian.PutUint32(b[shOffVersion:], SegmentVersion)
	b[shOffCodec] = byte(h.codec)
	binary.LittleEndian.PutUint64(b[shOffBase:], h.base)
	binary.LittleEndian.PutUint64(b[shOffCreated:], uint64(h.created))
	binary.LittleEndian.PutUint64(b[shOffRawSize:], uint64(h.rawSize))
	binary.LittleEndian.PutUint64(b[shOffFirstTime:], uint64(h.firstTime))
	binary.LittleEndian.PutUint32(b[shOffCRC:], crc32.Checksum(b[:shOffCRC], castagnoli))
	return b
}

// decodeSegmentHeader validates b (at least segmentHeaderSize bytes of the
// file at path) in order: magic, version, checksum, codec, base against
// the name.
func decodeSegmentHeader(b []byte, path string) (segHeader, error) {
	if len(b) < segmentHeaderSize {
		return segHeader{}, fmt.Errorf("%w: %s: %d bytes, header needs %d", ErrBadSegment, path, len(b), segmentHeaderSize)
	}
	if [8]byte(b[:8]) != segmentMagic {
		return segHeader{}, fmt.Errorf("%w: %s: magic %q", ErrBadSegment, path, b[:8])
	}
	if v := binary.LittleEndian.Uint32(b[shOffVersion:]); v != SegmentVersion {
		return segHeader{}, fmt.Errorf("%w: %s: version %d, this build reads %d", ErrBadVersion, path, v, SegmentVersion)
	}
	if want, got := binary.LittleEndian.Uint32(b[shOffCRC:]), crc32.Checksum(b[:shOffCRC], castagnoli); want != got {
		return segHeader{}, fmt.Errorf("%w: %s: header checksum %#08x, computed %#08x", ErrBadSegment, path, want, got)
	}
	h := segHeader{
		codec:     Codec(b[shOffCodec]),
		base:      binary.LittleEndian.Uint64(b[shOffBase:]),
		created:   int64(binary.LittleEndian.Uint64(b[shOffCreated:])),
		rawSize:   int64(binary.LittleEndian.Uint64(b[shOffRawSize:])),
		firstTime: int64(binary.LittleEndian.Uint64(b[shOffFirstTime:])),
	}
	if h.codec > CodecS2 || h.rawSize < 0 || h.rawSize > MaxRecordLimit {
		return segHeader{}, fmt.Errorf("%w: %s: codec %d, raw size %d", ErrBadSegment, path, h.codec, h.rawSize)
	}
	if base, ok := parseSegmentName(filepath.Base(path)); ok && base != h.base {
		return segHeader{}, fmt.Errorf("%w: %s: header says base %d", ErrBadSegment, path, h.base)
	}
	return h, nil
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d%s", base, segmentExt) }

func parseSegmentName(name string) (uint64, bool) {
	s, ok := strings.CutSuffix(name, segmentExt)
	if !ok || len(s) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(s, 10, 64)
	return base, err == nil
}

// listSegments returns the bases of the segment files in dir, ascending,
// and removes leftover temporary files of interrupted rewrites.
func listSegments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("persist: list %s: %w", dir, err)
	}
	var bases []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, tmpExt) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return nil, fmt.Errorf("persist: remove leftover %s: %w", name, err)
			}
			continue
		}
		if base, ok := parseSegmentName(name); ok && e.Type().IsRegular() {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// readSegment reads a whole segment file: its header and its records area,
// decompressed if the segment is compressed.
func readSegment(path string) (segHeader, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return segHeader{}, nil, fmt.Errorf("persist: read segment: %w", err)
	}
	h, err := decodeSegmentHeader(b, path)
	if err != nil {
		return h, nil, err
	}
	body := b[segmentHeaderSize:]
	if h.codec == CodecNone {
		return h, body, nil
	}
	raw, err := decompress(h.codec, body, h.rawSize)
	if err != nil {
		return h, nil, fmt.Errorf("%w: %s: %s body at offset %d: %w", ErrCorrupt, path, h.codec, segmentHeaderSize, err)
	}
	return h, raw, nil
}

// readHeader reads and validates the header of an open segment file.
func readHeader(f *os.File) (segHeader, error) {
	b := make([]byte, segmentHeaderSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return segHeader{}, fmt.Errorf("persist: read %s: %w", f.Name(), err)
	}
	return decodeSegmentHeader(b[:n], f.Name())
}

// writeFileSync writes data to path through a temporary file, fsyncs it,
// renames it into place and fsyncs the directory, so a crash leaves either
// the old file or the new one.
func writeFileSync(path string, data ...[]byte) error {
	tmp := path + tmpExt
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("persist: %w", err)
	}
	for _, d := range data {
		if _, err = f.Write(d); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("persist: write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
