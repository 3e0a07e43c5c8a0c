package ipc

// The thin syscall layer for segments. Everything that touches the kernel
// for file mapping lives here, with the reason for each flag.

import (
	"errors"

	"golang.org/x/sys/unix"
)

// mapShared maps size bytes of fd read-write and MAP_SHARED: stores are
// visible to every process mapping the same file, which is the point.
// MAP_POPULATE pre-faults the page tables when prefault is set. The returned
// slice must be passed unchanged to unmap.
func mapShared(fd, size int, prefault bool) ([]byte, error) {
	flags := unix.MAP_SHARED
	if prefault {
		flags |= unix.MAP_POPULATE
	}
	return unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, flags)
}

// unmap releases exactly the slice mapShared returned.
func unmap(mem []byte) error { return unix.Munmap(mem) }

// prefaultWrite makes every page of mem present and writable without
// changing its contents (MADV_POPULATE_WRITE, Linux 5.14+), so the first
// store to each page does not take a fault. MAP_POPULATE alone only read-
// faults a shared mapping. If the kernel lacks the advice we touch each page
// with a read instead; that is safe on memory other processes are using.
func prefaultWrite(mem []byte) {
	if len(mem) == 0 {
		return
	}
	err := unix.Madvise(mem, unix.MADV_POPULATE_WRITE)
	if err == nil {
		return
	}
	var sink byte
	for i := 0; i < len(mem); i += pageSize {
		sink += mem[i]
	}
	_ = sink
}

// pageSize is the host page size; HeaderSize must be a multiple of it for
// the data region to be page aligned.
var pageSize = unix.Getpagesize()

// publish atomically gives the finished temp file its final name, failing
// with EEXIST if the name is taken, so an opener never sees a half-made file.
// renameat2(RENAME_NOREPLACE) does it in one step; on file systems without
// it (EINVAL) we link(2) the temp file to the name, which also refuses to
// replace, then unlink the temp name.
func publish(dir, tmp, name string) error {
	err := unix.Renameat2(unix.AT_FDCWD, dir+"/"+tmp, unix.AT_FDCWD, dir+"/"+name, unix.RENAME_NOREPLACE)
	if err == nil || !(errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS)) {
		return err
	}
	if err := unix.Link(dir+"/"+tmp, dir+"/"+name); err != nil {
		return err
	}
	return unix.Unlink(dir + "/" + tmp)
}
