package ipc

import "errors"

// Sentinel errors. Every error returned by this package wraps one of these
// (with %w), so callers test with errors.Is; the wrapping message names the
// file or process and says what is wrong.
var (
	// ErrInvalidOption reports a bad functional option or an unknown
	// strategy name.
	ErrInvalidOption = errors.New("shmbus: invalid option")
	// ErrInvalidName reports a segment name that is empty, ".", "..",
	// starts with '.', contains '/' or NUL, or is longer than MaxNameLen.
	ErrInvalidName = errors.New("shmbus: invalid segment name")
	// ErrExists reports that Create found the name taken. It is returned
	// together with fs.ErrExist.
	ErrExists = errors.New("shmbus: segment already exists")
	// ErrNotFound reports a missing segment file. It is returned together
	// with fs.ErrNotExist.
	ErrNotFound = errors.New("shmbus: segment not found")
	// ErrNotRegular reports a path that is a directory, a symlink or
	// anything else but a regular file.
	ErrNotRegular = errors.New("shmbus: not a regular file")
	// ErrTruncated reports a file or buffer shorter than its header says.
	ErrTruncated = errors.New("shmbus: segment truncated")
	// ErrBadMagic reports a file that is not a shmbus segment.
	ErrBadMagic = errors.New("shmbus: bad magic")
	// ErrBadVersion reports a layout version this build does not speak.
	ErrBadVersion = errors.New("shmbus: unsupported layout version")
	// ErrWrongKind reports a segment of another kind than the caller wants.
	ErrWrongKind = errors.New("shmbus: wrong segment kind")
	// ErrBadChecksum reports a header whose CRC32-C does not match.
	ErrBadChecksum = errors.New("shmbus: bad header checksum")
	// ErrBadSize reports inconsistent header size, data size or file size.
	ErrBadSize = errors.New("shmbus: bad segment size")
	// ErrShortBuffer reports a buffer too small for what is asked of it.
	ErrShortBuffer = errors.New("shmbus: buffer too short")
	// ErrMisaligned reports shared-memory words that are not naturally
	// aligned (atomics and futexes need alignment).
	ErrMisaligned = errors.New("shmbus: misaligned shared word")
	// ErrClosed reports use of a closed Segment or Watcher.
	ErrClosed = errors.New("shmbus: closed")
	// ErrTimeout reports that FutexWait's timeout expired.
	ErrTimeout = errors.New("shmbus: timeout")
	// ErrNoProcess reports a process that does not exist (any more).
	ErrNoProcess = errors.New("shmbus: no such process")
)
