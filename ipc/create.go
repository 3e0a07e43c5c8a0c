package ipc

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Create makes a new segment file name in the segment directory with a
// dataSize-byte data region of the given kind, maps it and returns it.
// It fails with ErrExists (and fs.ErrExist) if the name is taken.
//
// Creation is atomic: the file is built under a temporary dot-name in the
// same directory (O_EXCL), sized, mapped, its header written with the
// checksum last, and only then published under its real name with
// renameat2(RENAME_NOREPLACE) (or link+unlink). An opener therefore sees
// either no file or a complete one. The data region starts zeroed.
func Create(name string, kind Kind, dataSize int, opts ...Option) (*Segment, error) {
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
	switch {
	case !kind.known():
		return fail("cannot create kind %s: %w", kind, ErrWrongKind)
	case dataSize < 0 || dataSize > maxDataSize:
		return fail("data size %d out of range [0, %d]: %w", dataSize, int64(maxDataSize), ErrBadSize)
	case HeaderSize%pageSize != 0:
		return fail("page size %d does not divide the %d-byte header: %w", pageSize, HeaderSize, ErrBadSize)
	}
	if err := ensureDir(c); err != nil {
		return nil, err
	}

	self := Self()
	tmp := fmt.Sprintf(".%s.%d.%016x.tmp", name, self.PID, rand.Uint64())
	mode := uint32(0o600)
	if c.gid >= 0 {
		mode = 0o660
	}
	fd, err := unix.Open(filepath.Join(c.dir, tmp), unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return fail("create temporary file: %w", err)
	}
	defer unix.Close(fd) // the mapping keeps the file alive; the fd is not needed after mmap
	var mem []byte
	published := false
	defer func() {
		if published {
			return
		}
		_ = unix.Unlink(filepath.Join(c.dir, tmp))
		if mem != nil {
			_ = unmap(mem)
		}
	}()

	// fchmod because the umask may have cleared bits; fchown for the group.
	if err := unix.Fchmod(fd, mode); err != nil {
		return fail("fchmod: %w", err)
	}
	if c.gid >= 0 {
		if err := unix.Fchown(fd, -1, c.gid); err != nil {
			return fail("fchown to group %d: %w", c.gid, err)
		}
	}
	size := HeaderSize + dataSize
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		return fail("ftruncate to %d bytes: %w", size, err)
	}
	if mem, err = mapShared(fd, size, c.prefault); err != nil {
		return fail("mmap %d bytes: %w", size, err)
	}
	if c.prefault {
		prefaultWrite(mem)
	}
	// A new file reads as zeros, so the data region is already zeroed; only
	// the header needs writing, checksum last (EncodeHeader's order).
	h := Header{
		Version:      LayoutVersion,
		Kind:         kind,
		HeaderSize:   HeaderSize,
		DataSize:     uint64(dataSize),
		CreatorPID:   int64(self.PID),
		CreatorStart: self.StartTime,
		CreatedNanos: time.Now().UnixNano(),
		Param:        c.param,
	}
	if err := EncodeHeader(mem[:HeaderSize], h); err != nil {
		return fail("%w", err)
	}
	if h, err = ValidateHeader(mem[:HeaderSize], kind, int64(size)); err != nil {
		return fail("self-check: %w", err) // cannot happen unless the layout is broken
	}
	if err := publish(c.dir, tmp, name); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fail("%w: %w", ErrExists, fs.ErrExist)
		}
		return fail("publish: %w", err)
	}
	published = true
	c.logger.Debug("shmbus: segment created", "path", path, "kind", kind, "data_size", dataSize, "group", c.gid)
	return &Segment{path: path, header: h, log: c.logger, mem: mem}, nil
}

// ensureDir creates the segment directory if missing: 0700, or 0750 owned
// by the group when WithGroup is given. An existing directory is left as is
// (it may belong to someone else's setup).
func ensureDir(c config) error {
	perm := os.FileMode(0o700)
	if c.gid >= 0 {
		perm = 0o750
	}
	fi, err := os.Stat(c.dir)
	if err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("shmbus: segment directory %q: is a %s, not a directory: %w", c.dir, modeName(fi.Mode()), ErrNotRegular)
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("shmbus: segment directory %q: %w", c.dir, err)
	}
	if err := os.MkdirAll(c.dir, perm); err != nil {
		return fmt.Errorf("shmbus: segment directory %q: %w", c.dir, err)
	}
	// MkdirAll's mode is filtered by the umask; set it exactly.
	if err := os.Chmod(c.dir, perm); err != nil {
		return fmt.Errorf("shmbus: segment directory %q: %w", c.dir, err)
	}
	if c.gid >= 0 {
		if err := os.Chown(c.dir, -1, c.gid); err != nil {
			return fmt.Errorf("shmbus: segment directory %q: chown to group %d: %w", c.dir, c.gid, err)
		}
	}
	return nil
}
