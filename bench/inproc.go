package bench

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/ring"
)

// In-process throughput: the rings between two goroutines of one process
// (each locked to its own CPU), next to a channel doing the same. Same
// fairness rules as the cross-process runs: the sender copies the payload
// once and stamps a sequence number; the receiver checks every sequence
// number and brings every line of the payload into its cache.

// heapRegion returns a cache-line-aligned, zeroed heap region of n bytes.
func heapRegion(n int) []byte {
	b := make([]byte, n+ring.CacheLine)
	off := (ring.CacheLine - int(uintptr(unsafe.Pointer(&b[0]))%ring.CacheLine)) % ring.CacheLine
	return b[off : off+n : off+n]
}

// RingInProc moves N records of Size bytes through an SPSC ring from one
// goroutine to another.
func RingInProc(p Params) (*Result, error) {
	n, size := p.n(DefaultTputN), p.size(64)
	name := fmt.Sprintf("ring.inproc/%d", size)
	const capacity = 1 << 20
	region := heapRegion(ring.SPSCSize(capacity))
	if err := ring.InitSPSC(region, capacity); err != nil {
		return nil, err
	}
	prod, err := ring.NewProducer(region)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	cons, err := ring.NewConsumer(region, ring.WithIdentity(ipc.Process{PID: 1<<22 - 1, StartTime: 1}))
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	a, b, _ := CPUs()
	var bad, got atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		unpin, _ := Pin(b)
		defer unpin()
		var seq, sink uint64
		h := func(_, _ uint16, pl []byte) {
			if binary.LittleEndian.Uint64(pl) != seq {
				bad.Add(1)
			}
			sink ^= touchLines(pl)
			seq++
		}
		for k := 0; seq < uint64(n); k++ {
			if cons.Read(h, 0) == 0 {
				if k&0xFFFF == 0 {
					runtime.Gosched() // let a goroutine that must run in between run
				}
			}
		}
		got.Store(seq + sink&0)
	}()
	unpin, _ := Pin(a)
	payload := make([]byte, size)
	batch := max(1, TputBatchBytes/(size+ring.HeaderLength))
	start := now()
	for i, left := 0, batch; i < n; {
		buf, err := prod.Claim(recordType, size)
		if err != nil {
			prod.Flush()
			for prod.Free() < TputBatchBytes {
				ipc.Relax()
			}
			continue
		}
		copy(buf, payload)
		binary.LittleEndian.PutUint64(buf, uint64(i))
		prod.CommitDeferred()
		i++
		if left--; left == 0 {
			prod.Flush()
			left = batch
		}
	}
	prod.Flush()
	wg.Wait()
	d := now() - start
	unpin()
	if got.Load() != uint64(n) || bad.Load() != 0 {
		return nil, fmt.Errorf("bench: %s: received %d of %d, %d out of sequence", name, got.Load(), n, bad.Load())
	}
	return throughputResult(name, int64(n), size, durationNS(d)), nil
}

// mpmcSide is the number of producers and of consumers in the MPMC runs.
const mpmcSide = 2

// MPMCInProc moves N 64-byte records through an MPMC ring from 2 producer
// goroutines to 2 consumer goroutines; every record must arrive exactly once.
func MPMCInProc(p Params) (*Result, error) {
	n, size := p.n(DefaultTputN)/mpmcSide*mpmcSide, p.size(64)
	name := fmt.Sprintf("mpmc.inproc/%d", size)
	const slots = 4096
	region := heapRegion(ring.MPMCSize(slots, size))
	if err := ring.InitMPMC(region, slots, size); err != nil {
		return nil, err
	}
	var got, bad atomic.Int64
	var wg sync.WaitGroup
	start := now()
	for i := 0; i < mpmcSide; i++ {
		c, err := ring.NewMPMCConsumer(region)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := [mpmcSide]int64{-1, -1}
			var local int64
			h := func(_, _ uint16, pl []byte) {
				prod, seq := binary.LittleEndian.Uint64(pl), int64(binary.LittleEndian.Uint64(pl[8:]))
				if prod >= mpmcSide || seq <= last[prod] {
					bad.Add(1)
				} else {
					last[prod] = seq
				}
				touchLines(pl)
				local++
			}
			for k := 0; got.Load() < int64(n); k++ {
				if c.Read(h, 256) == 0 || k&63 == 0 {
					got.Add(local)
					local = 0
					runtime.Gosched()
				}
			}
			got.Add(local)
		}()
	}
	for i := 0; i < mpmcSide; i++ {
		pr, err := ring.NewMPMCProducer(region)
		if err != nil {
			return nil, err
		}
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			defer pr.Close()
			payload := make([]byte, size)
			for seq := 0; seq < n/mpmcSide; {
				buf, err := pr.Claim(recordType, size)
				if err != nil {
					runtime.Gosched()
					continue
				}
				copy(buf, payload)
				binary.LittleEndian.PutUint64(buf, id)
				binary.LittleEndian.PutUint64(buf[8:], uint64(seq))
				if pr.Commit() == nil {
					seq++
				}
			}
		}(uint64(i))
	}
	wg.Wait()
	d := now() - start
	if got.Load() != int64(n) || bad.Load() != 0 {
		return nil, fmt.Errorf("bench: %s: received %d of %d, %d out of order", name, got.Load(), n, bad.Load())
	}
	return throughputResult(name, int64(n), size, durationNS(d)), nil
}

// ChanMPMC is MPMCInProc's reference: one buffered channel of 64-byte
// arrays shared by 2 sending and 2 receiving goroutines.
func ChanMPMC(p Params) (*Result, error) {
	n := p.n(DefaultTputN) / mpmcSide * mpmcSide
	ch := make(chan [64]byte, ChanCap)
	var bad atomic.Int64
	var wg sync.WaitGroup
	start := now()
	for i := 0; i < mpmcSide; i++ {
		wg.Add(2)
		go func(id uint64) {
			defer wg.Done()
			var msg [64]byte
			for seq := 0; seq < n/mpmcSide; seq++ {
				binary.LittleEndian.PutUint64(msg[:], id)
				binary.LittleEndian.PutUint64(msg[8:], uint64(seq))
				ch <- msg
			}
		}(uint64(i))
		go func() {
			defer wg.Done()
			last := [mpmcSide]int64{-1, -1}
			for k := 0; k < n/mpmcSide; k++ {
				m := <-ch
				prod, seq := binary.LittleEndian.Uint64(m[:]), int64(binary.LittleEndian.Uint64(m[8:]))
				if prod >= mpmcSide || seq <= last[prod] {
					bad.Add(1)
				} else {
					last[prod] = seq
				}
			}
		}()
	}
	wg.Wait()
	d := now() - start
	if bad.Load() != 0 {
		return nil, fmt.Errorf("bench: chan.mpmc: %d out of order", bad.Load())
	}
	return throughputResult("chan.mpmc/64", int64(n), 64, durationNS(d)), nil
}
