package persist

import "errors"

// Sentinel errors; test them with errors.Is. Errors returned by this package
// wrap one of these and name the file, offset or value involved.
var (
	// ErrZeroedRecord: a record header of all zeros where a record was
	// expected (preallocated or never-written space).
	ErrZeroedRecord = errors.New("persist: zeroed record")
	// ErrInvalidChecksum: a record whose CRC-32C does not match its bytes.
	ErrInvalidChecksum = errors.New("persist: invalid record checksum")
	// ErrTruncatedRecord: a record that runs past the end of its segment.
	ErrTruncatedRecord = errors.New("persist: truncated record")
	// ErrInvalidRecord: a record header that cannot be valid (type 0,
	// reserved bytes set, length beyond MaxRecordLimit, sequence going
	// backwards).
	ErrInvalidRecord = errors.New("persist: invalid record")
	// ErrBadSegment: a segment file whose header is missing, has the wrong
	// magic or checksum, or does not match its name.
	ErrBadSegment = errors.New("persist: bad segment header")
	// ErrBadVersion: a segment written in a format version this code does
	// not read.
	ErrBadVersion = errors.New("persist: unsupported segment format version")
	// ErrCorrupt: corruption in the middle of a segment (valid records
	// follow the bad one), so it is not a torn write. The error names the
	// file and the byte offset. Open refuses such a log unless
	// WithSkipCorruption is given.
	ErrCorrupt = errors.New("persist: corrupt journal")
	// ErrInvalidOption: a bad option value.
	ErrInvalidOption = errors.New("persist: invalid option")
	// ErrClosed: the Log (or Queue, Topic, Reader) was closed.
	ErrClosed = errors.New("persist: journal closed")
	// ErrFailed: a write or fsync failed; the Log accepts nothing more, and
	// records not yet confirmed may be lost. The cause is wrapped too.
	ErrFailed = errors.New("persist: journal write failed")
	// ErrTooLarge: a record larger than WithMaxRecordSize.
	ErrTooLarge = errors.New("persist: record too large")
	// ErrBadType: record type 0 (reserved: it is what a zeroed header holds).
	ErrBadType = errors.New("persist: invalid record type")
	// ErrUnknownMessage: a queue ack, nak or dead-letter for a message id
	// that is not live in the queue journal.
	ErrUnknownMessage = errors.New("persist: unknown message id")
	// ErrBadPayload: a queue or topic record whose payload does not decode.
	ErrBadPayload = errors.New("persist: malformed record payload")
)
