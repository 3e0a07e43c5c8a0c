package ipc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Open maps an existing segment read-write (MAP_SHARED) after checking that
// it is a regular file (not a symlink), at least a header long, and that its
// header is valid for kind (see ValidateHeader; KindAny accepts any kind).
// Errors name the file and the problem and wrap a sentinel, e.g.
//
//	shmbus: segment "/dev/shm/shmbus/x": wrong kind: file is mpmc, want spsc: shmbus: wrong segment kind
//
// WithDir, WithPrefault and WithLogger apply; WithGroup and WithParam are
// ignored.
func Open(name string, kind Kind, opts ...Option) (*Segment, error) {
	if err := validateName(name); err != nil {
		return nil, err
	}
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(c.dir, name)
	fail := func(format string, args ...any) (*Segment, error) {
		return nil, fmt.Errorf("shmbus: segment %q: "+format, append([]any{path}, args...)...)
	}

	// Lstat first: refuse symlinks and directories with a clear message.
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fail("%w: %w", ErrNotFound, err)
	} else if err != nil {
		return fail("%w", err)
	}
	if !fi.Mode().IsRegular() {
		return fail("is a %s, not a regular file: %w", modeName(fi.Mode()), ErrNotRegular)
	}
	// O_NOFOLLOW closes the race where a symlink replaces the file after
	// Lstat; O_NONBLOCK keeps a swapped-in FIFO or device from blocking us.
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, unix.ELOOP):
		return fail("is a symlink, not a regular file: %w", ErrNotRegular)
	case errors.Is(err, unix.ENOENT):
		return fail("%w: %w", ErrNotFound, fs.ErrNotExist)
	case err != nil:
		return fail("open: %w", err)
	}
	defer unix.Close(fd) // the mapping keeps the file alive
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fail("is not a regular file: %w", ErrNotRegular)
	}
	if st.Size < HeaderSize {
		return fail("file is %d bytes, shorter than the %d-byte header: %w", st.Size, HeaderSize, ErrTruncated)
	}
	hdr := make([]byte, HeaderSize)
	if n, err := unix.Pread(fd, hdr, 0); err != nil || n != HeaderSize {
		return fail("read header: %d bytes: %v: %w", n, err, ErrTruncated)
	}
	h, err := ValidateHeader(hdr, kind, st.Size)
	if err != nil {
		return fail("%w", err)
	}
	mem, err := mapShared(fd, int(st.Size), c.prefault)
	if err != nil {
		return fail("mmap %d bytes: %w", st.Size, err)
	}
	if c.prefault {
		prefaultWrite(mem)
	}
	c.logger.Debug("shmbus: segment opened", "path", path, "kind", h.Kind, "data_size", h.DataSize)
	return &Segment{path: path, header: h, log: c.logger, mem: mem}, nil
}

// modeName names a non-regular file type for error messages.
func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
