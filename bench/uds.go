package bench

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// UDSBatch is the write batch of the socket throughput baselines.
const UDSBatch = 64 << 10

// MaxStreamSize is the largest message of the socket throughput baselines.
const MaxStreamSize = 16 << 20

// DefaultUDSPingN is the default number of Unix-socket round trips.
const DefaultUDSPingN = 20000

// childFD is the descriptor the child's end of the socket pair arrives on.
const childFD = 3

// socketPair returns a connected SOCK_STREAM pair (blocking descriptors),
// the parent's end bounded by timeout for every send and receive.
func socketPair(timeout time.Duration) (mine int, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	if err := setTimeouts(fds[0], timeout); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return -1, nil, err
	}
	return fds[0], os.NewFile(uintptr(fds[1]), "uds-child"), nil
}

func setTimeouts(fd int, d time.Duration) error {
	tv := unix.NsecToTimeval(int64(d))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return err
	}
	return unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv)
}

// writeFull writes all of b.
func writeFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// readFull fills b.
func readFull(fd int, b []byte) error {
	for len(b) > 0 {
		n, err := unix.Read(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrPeerExited
		}
		b = b[n:]
	}
	return nil
}

// pairFunc makes a connected pair of stream sockets: this process's
// descriptor (bounded by timeout for every send and receive) and the
// child's end.
type pairFunc func(timeout time.Duration) (mine int, theirs *os.File, err error)

// startSocketChild starts role with the other end of a fresh socket pair.
func startSocketChild(role string, a childArgs, timeout time.Duration, pair pairFunc) (int, *child, error) {
	fd, theirs, err := pair(timeout)
	if err != nil {
		return -1, nil, err
	}
	c, err := startChild(role, a, theirs)
	theirs.Close() // the child has its copy; EOF reaches us if it dies
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, c, nil
}

// UDSThroughput streams N messages of Size bytes (default 64) over a Unix
// socket to a child process. Each message is copied into a 64 KiB batch
// buffer with its sequence number, and full batches are written with one
// write(2) (a message larger than a batch is written on its own); the
// child reads 64 KiB at a time, checks every sequence number and
// acknowledges the last with one byte.
func UDSThroughput(p Params) (*Result, error) {
	return streamThroughput(p, "uds.tput", socketPair)
}

// streamThroughput is UDSThroughput over the stream sockets pair makes.
func streamThroughput(p Params, family string, pair pairFunc) (*Result, error) {
	n, size := p.n(DefaultTputN), p.size(64)
	name := fmt.Sprintf("%s/%d", family, size)
	if size < 8 || size > MaxStreamSize {
		return nil, fmt.Errorf("bench: %s: size %d out of range (8 .. %d)", name, size, MaxStreamSize)
	}
	fd, c, err := startSocketChild("uds-sink", childArgs{N: n, Size: size, Deadline: deadlineFor(p.timeout())}, p.timeout(), pair)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	defer unix.Close(fd)
	defer c.kill()

	payload := make([]byte, size)
	for i := range payload {
		payload[i] = byte(i)
	}
	batch := make([]byte, max(UDSBatch/size, 1)*size)
	a, _, _ := CPUs()
	unpin, _ := Pin(a)
	err = readFull(fd, payload[:1]) // the child is up and reading
	start := now()
	off := 0
	for i := uint64(0); i < uint64(n) && err == nil; i++ {
		copy(batch[off:off+size], payload)
		binary.LittleEndian.PutUint64(batch[off:], i)
		if off += size; off == len(batch) {
			err, off = writeFull(fd, batch), 0
		}
	}
	if err == nil && off > 0 {
		err = writeFull(fd, batch[:off])
	}
	if err == nil {
		err = readFull(fd, payload[:1]) // the child's acknowledgement
	}
	d := now() - start
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && rep.Count != int64(n) {
		err = fmt.Errorf("child received %d of %d", rep.Count, n)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	return throughputResult(name, int64(n), size, durationNS(d)), nil
}

// UDSPingPong bounces a Size-byte message (default 64) over a Unix socket
// between this process and a child: closed loop, or at p.Rate round trips
// a second (see timeRounds).
func UDSPingPong(p Params) (*Result, error) {
	return streamPingPong(p, "uds.pingpong", socketPair)
}

// streamPingPong is UDSPingPong over the stream sockets pair makes.
func streamPingPong(p Params, name string, pair pairFunc) (*Result, error) {
	n, size := p.n(DefaultUDSPingN), p.size(64)
	fd, c, err := startSocketChild("uds-echo", childArgs{N: n, Size: size, Deadline: deadlineFor(p.timeout())}, p.timeout(), pair)
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	defer unix.Close(fd)
	defer c.kill()
	msg := make([]byte, size)
	h := NewHist()
	a, _, _ := CPUs()
	unpin, _ := Pin(a)
	round := func(int) error {
		if err := writeFull(fd, msg); err != nil {
			return err
		}
		return readFull(fd, msg)
	}
	if err = round(0); err == nil {
		err = timeRounds(n, p.Rate, h, realClock, round)
	}
	unpin()
	rep, cerr := c.finish(p.timeout())
	if err == nil {
		err = cerr
	}
	if err == nil && rep.Count != int64(n)+1 {
		err = fmt.Errorf("child echoed %d of %d", rep.Count, n+1)
	}
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", name, err)
	}
	r := latencyResult(name, h)
	r.Size, r.Rate = size, p.Rate
	return r, nil
}

// The children of the socket baselines, Unix or TCP alike: they use the
// stream socket they inherit as descriptor 3.
func init() {
	roles["uds-sink"] = udsSink
	roles["uds-echo"] = func(a *childArgs) (*childReport, error) {
		if err := setTimeouts(childFD, time.Until(time.Unix(0, a.Deadline))); err != nil {
			return nil, err
		}
		msg := make([]byte, a.Size)
		for i := 0; i <= a.N; i++ {
			if err := readFull(childFD, msg); err != nil {
				return nil, err
			}
			if err := writeFull(childFD, msg); err != nil {
				return nil, err
			}
		}
		return &childReport{Count: int64(a.N) + 1}, nil
	}
}

func udsSink(a *childArgs) (*childReport, error) {
	if err := setTimeouts(childFD, time.Until(time.Unix(0, a.Deadline))); err != nil {
		return nil, err
	}
	if err := writeFull(childFD, []byte{1}); err != nil { // ready
		return nil, err
	}
	buf := make([]byte, UDSBatch+a.Size)
	have := 0
	var seq uint64
	for seq < uint64(a.N) {
		m, err := unix.Read(childFD, buf[have:have+UDSBatch])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m == 0 {
			return nil, ErrPeerExited
		}
		have += m
		off := 0
		for ; off+a.Size <= have; off += a.Size {
			if got := binary.LittleEndian.Uint64(buf[off:]); got != seq {
				return nil, fmt.Errorf("message %d has sequence %d", seq, got)
			}
			seq++
		}
		have = copy(buf, buf[off:have])
	}
	if err := writeFull(childFD, []byte{1}); err != nil {
		return nil, err
	}
	return &childReport{Count: int64(seq)}, nil
}
