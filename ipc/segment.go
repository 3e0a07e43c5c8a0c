package ipc

import (
	"fmt"
	"log/slog"
	"sync"
)

// Segment is one mapped segment file: a page-sized header followed by the
// page-aligned data region. It is safe for concurrent use; the memory it
// maps is shared with every other process that opened the same file, so all
// concurrent access to Data must use atomics or a protocol built on them.
type Segment struct {
	path   string
	header Header
	log    *slog.Logger

	mu  sync.Mutex
	mem []byte // exactly what mmap returned; nil once closed
}

// Path returns the segment file's path.
func (s *Segment) Path() string { return s.path }

// Header returns the decoded header (immutable after Create).
func (s *Segment) Header() Header { return s.header }

// Data returns the data region: DataSize bytes, starting on a page
// boundary, capacity limited to its length. The slice is valid until Close;
// touching it afterwards faults. It returns nil after Close.
func (s *Segment) Data() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem == nil {
		return nil
	}
	end := HeaderSize + int(s.header.DataSize)
	return s.mem[HeaderSize:end:end]
}

// Close unmaps the segment. It does not remove the file. Calling it again
// does nothing and returns nil.
func (s *Segment) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mem == nil {
		return nil
	}
	err := unmap(s.mem)
	s.mem = nil
	if err != nil {
		return fmt.Errorf("shmbus: segment %q: munmap: %w", s.path, err)
	}
	s.log.Debug("shmbus: segment closed", "path", s.path)
	return nil
}

// Remove unlinks the segment file; the mapping stays valid until Close.
// Other processes that have it mapped keep using the memory, but nobody can
// Open it any more and a new Create may reuse the name.
func (s *Segment) Remove() error {
	if err := removePath(s.path); err != nil {
		return err
	}
	s.log.Debug("shmbus: segment removed", "path", s.path)
	return nil
}

// String describes the segment for logs.
func (s *Segment) String() string {
	return fmt.Sprintf("segment %q (%s, %d data bytes)", s.path, s.header.Kind, s.header.DataSize)
}
