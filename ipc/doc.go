// Package ipc is shmbus's thin layer over the kernel: shared-memory segment
// files, shared futexes, doorbells, idle strategies and process liveness.
// Everything above it (ring/, bus/) builds on these pieces; ipc imports
// nothing from shmbus. Linux only.
//
// # Segments
//
// A segment is a file on tmpfs (DefaultDir, /dev/shm/shmbus) mapped
// MAP_SHARED by every process that uses it. Create builds it under a
// temporary name and publishes it atomically; Open checks the header before
// mapping. The first page is the header, so the data region is page aligned:
//
//	file offset
//	0      +-------+------+------+-------+-------+-----+-----------+
//	       | magic | vers | kind | flags | hsize | pad | data size |   8+4+2+2+4+4+8
//	32     +-------+------+------+-------+-------+-----+-----------+
//	       | creator pid | creator start time | created (unix ns)  |   8+8+8
//	56     +-------------+--------------------+--------------------+
//	       | param: 64 app-defined bytes (ring capacity, ...)      |   64
//	120    +-------------------------------------------------------+
//	       | crc32c of [0,120) |  zero padding to 4096              |   4
//	4096   +===================+===================================+
//	       | data region (DataSize bytes, page aligned)            |
//	       | rings, counters, doorbells: owned by the layer above  |
//	       +-------------------------------------------------------+
//
// All header fields are little-endian and immutable after Create; all
// mutable shared state lives in the data region. header.go derives the
// offsets as running sums and header_test.go checks alignment and overlap.
//
// # Waking across processes
//
// A Doorbell is two uint32 words in the data region ([seq][waiters]).
// Consumers that find no work park on it with a shared futex; producers
// ring it after publishing, which costs one atomic load when nobody sleeps.
// See Doorbell for the no-lost-wake-up argument. IdleStrategy decides
// between spinning, yielding and parking (BusySpin, Yield, Backoff, Block).
//
// # Liveness
//
// A Process is a (PID, start time) pair, which survives PID reuse. IsAlive
// checks one; Watch reports a death within milliseconds using a pidfd.
package ipc
