package bench

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// ChanCap is the channel baseline's buffer, in messages.
const ChanCap = 4096

// DefaultTputN is the default number of messages of throughput runs.
const DefaultTputN = 10_000_000

// ChanThroughput sends N fixed-size array values (Size 64 or 1024) through a
// buffered channel from one goroutine to another. Per message the sender
// stamps a sequence number and the send copies the value into the channel
// (one copy, as the ring's producer copies into the ring); the receiver
// copies it out and checks the sequence (as the ring's consumer does).
func ChanThroughput(p Params) (*Result, error) {
	switch size := p.size(64); size {
	case 64:
		return chanRun[[64]byte](p)
	case 1024:
		return chanRun[[1024]byte](p)
	default:
		return nil, fmt.Errorf("bench: chan: size %d not supported (64 or 1024)", size)
	}
}

func chanRun[T [64]byte | [1024]byte](p Params) (*Result, error) {
	n := p.n(DefaultTputN)
	ch := make(chan T, ChanCap)
	var v T
	size := int(unsafe.Sizeof(v))
	start := now()
	go func() {
		var msg T
		b := unsafe.Slice((*byte)(unsafe.Pointer(&msg)), size)
		for i := range b {
			b[i] = byte(i)
		}
		for i := uint64(0); i < uint64(n); i++ {
			binary.LittleEndian.PutUint64(b, i)
			ch <- msg
		}
		close(ch)
	}()
	var got, bad uint64
	var sink byte
	for m := range ch {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&m)), size)
		if binary.LittleEndian.Uint64(b) != got {
			bad++
		}
		sink ^= b[size-1]
		got++
	}
	d := now() - start
	if got != uint64(n) || bad != 0 {
		return nil, fmt.Errorf("bench: chan: received %d of %d, %d out of sequence", got, n, bad)
	}
	_ = sink
	return throughputResult(fmt.Sprintf("chan.tput/%d", size), int64(n), size, durationNS(d)), nil
}
