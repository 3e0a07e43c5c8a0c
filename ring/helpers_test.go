package ring

import (
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/shmbus/shmbus/ipc"
)

// alignedBuf returns a zeroed, cache-line-aligned heap region of n bytes.
func alignedBuf(n int) []byte {
	b := make([]byte, n+CacheLine)
	off := (CacheLine - int(uintptr(unsafe.Pointer(&b[0]))%CacheLine)) % CacheLine
	return b[off : off+n : off+n]
}

func newSPSC(t testing.TB, capacity int) []byte {
	t.Helper()
	b := alignedBuf(SPSCSize(capacity))
	if err := InitSPSC(b, capacity); err != nil {
		t.Fatal(err)
	}
	return b
}

// fake identities let one test process play several processes.
var (
	procA = ipc.Process{PID: 1_000_001, StartTime: 11}
	procB = ipc.Process{PID: 1_000_002, StartTime: 22}
	procC = ipc.Process{PID: 1_000_003, StartTime: 33}
)

// liveSet is a liveness check over a mutable set of fake processes.
type liveSet map[ipc.Process]bool

func (s liveSet) alive(p ipc.Process) bool { return s[p] }

func pair(t testing.TB, b []byte, opts ...Option) (*Producer, *Consumer) {
	t.Helper()
	p, err := NewProducer(b, append([]Option{WithIdentity(procA)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConsumer(b, append([]Option{WithIdentity(procB)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p, c
}

// putSeq writes (producer, seq) and a filler derived from them.
func putSeq(buf []byte, producer, seq uint64) {
	binary.LittleEndian.PutUint64(buf[0:], producer)
	binary.LittleEndian.PutUint64(buf[8:], seq)
	for i := 16; i < len(buf); i++ {
		buf[i] = byte(seq + uint64(i))
	}
}

// getSeq decodes and verifies a record written by putSeq.
func getSeq(t testing.TB, buf []byte) (producer, seq uint64) {
	producer = binary.LittleEndian.Uint64(buf[0:])
	seq = binary.LittleEndian.Uint64(buf[8:])
	for i := 16; i < len(buf); i++ {
		if buf[i] != byte(seq+uint64(i)) {
			t.Errorf("producer %d seq %d: byte %d of %d is %d, want %d", producer, seq, i, len(buf), buf[i], byte(seq+uint64(i)))
			return
		}
	}
	return
}
