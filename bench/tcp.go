package bench

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The TCP loopback baselines: the Unix-socket ones (uds.go: the same
// children, batches and checks) over a TCP connection on 127.0.0.1, with
// Nagle's algorithm off on both ends. Like the Unix socket they use raw
// blocking read and write system calls, not Go's net package.
//
//	tcp.tput/SIZE   one way, 64 KiB batched writes, vs uds.tput/SIZE
//	tcp.pingpong    round trip, 64 B, vs uds.pingpong

// TCPThroughput is UDSThroughput over TCP loopback.
func TCPThroughput(p Params) (*Result, error) {
	return streamThroughput(p, "tcp.tput", tcpPair)
}

// TCPPingPong is UDSPingPong over TCP loopback.
func TCPPingPong(p Params) (*Result, error) {
	return streamPingPong(p, "tcp.pingpong", tcpPair)
}

// tcpPair connects two blocking TCP sockets through a listener on an
// ephemeral port of 127.0.0.1 (closed once they are connected).
func tcpPair(timeout time.Duration) (mine int, theirs *os.File, err error) {
	socket := func() (int, error) { return unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0) }
	l, err := socket()
	if err != nil {
		return -1, nil, fmt.Errorf("bench: tcp listener: %w", err)
	}
	defer unix.Close(l)
	loopback := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := errors.Join(unix.Bind(l, loopback), unix.Listen(l, 1)); err != nil {
		return -1, nil, fmt.Errorf("bench: tcp listen: %w", err)
	}
	addr, err := unix.Getsockname(l)
	if err != nil {
		return -1, nil, fmt.Errorf("bench: tcp listener address: %w", err)
	}
	c, err := socket()
	if err != nil {
		return -1, nil, fmt.Errorf("bench: tcp socket: %w", err)
	}
	if err := errors.Join(setTimeouts(l, timeout), unix.Connect(c, addr)); err != nil {
		unix.Close(c)
		return -1, nil, fmt.Errorf("bench: tcp connect: %w", err)
	}
	a, _, err := unix.Accept4(l, unix.SOCK_CLOEXEC)
	if err != nil {
		unix.Close(c)
		return -1, nil, fmt.Errorf("bench: tcp accept: %w", err)
	}
	err = errors.Join(unix.SetsockoptInt(c, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1),
		unix.SetsockoptInt(a, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1), setTimeouts(c, timeout))
	if err != nil {
		unix.Close(c)
		unix.Close(a)
		return -1, nil, fmt.Errorf("bench: tcp options: %w", err)
	}
	return c, os.NewFile(uintptr(a), "tcp-child"), nil
}
