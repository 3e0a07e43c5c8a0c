package ring

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"unsafe"
)

// Throughput benchmarks. Each size has a channel reference carrying the same
// payloads (one copy per message, as the ring makes), so the ratio is read
// off one run: go test -run '^$' -bench . -benchmem ./ring/

const benchBatch = 64 // records per Flush

func BenchmarkSPSC(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			buf := newSPSC(b, 1<<20)
			p, c := pair(b, buf)
			payload := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var want uint64
				h := func(_, _ uint16, pl []byte) {
					if binary.LittleEndian.Uint64(pl) != want {
						panic("out of order")
					}
					want++
				}
				for want < uint64(b.N) {
					if c.Read(h, 0) == 0 {
						runtime.Gosched()
					}
				}
			}()
			for i := 0; i < b.N; i++ {
				dst, err := p.Claim(1, size)
				for err != nil {
					p.Flush()
					runtime.Gosched()
					dst, err = p.Claim(1, size)
				}
				copy(dst, payload)
				binary.LittleEndian.PutUint64(dst, uint64(i))
				if i%benchBatch == benchBatch-1 {
					p.Commit()
				} else {
					p.CommitDeferred()
				}
			}
			p.Flush()
			wg.Wait()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkChan is the reference for BenchmarkSPSC: a buffered channel
// carrying the same payload by value (one copy in, one copy out).
func BenchmarkChan(b *testing.B) {
	b.Run("size=64", benchChan[[64]byte])
	b.Run("size=1024", benchChan[[1024]byte])
}

// benchChan sends b.N array values through a buffered channel. No closures
// and no pointers to the value escape, so nothing is allocated per message.
func benchChan[T [64]byte | [1024]byte](b *testing.B) {
	var v T
	size := len(v)
	ch := make(chan T, 4096)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for want := uint64(0); want < uint64(b.N); want++ {
			m := <-ch
			if binary.LittleEndian.Uint64(unsafe.Slice(&m[0], 8)) != want {
				panic("out of order")
			}
		}
	}()
	for i := 0; i < b.N; i++ {
		binary.LittleEndian.PutUint64(unsafe.Slice(&v[0], 8), uint64(i))
		ch <- v
	}
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkMPMC: 2 producers, 2 consumers, 64-byte payloads, next to a
// buffered channel shared the same way.
func BenchmarkMPMC(b *testing.B) {
	const producers, consumers, size = 2, 2, 64
	b.Run("impl=ring/p=2/c=2", func(b *testing.B) {
		buf := newMPMC(b, 4096, size)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		per := b.N / producers
		var got sync.WaitGroup
		var mu sync.Mutex
		left := per * producers
		for i := 0; i < consumers; i++ {
			c, _ := NewMPMCConsumer(buf)
			got.Add(1)
			go func() {
				defer got.Done()
				n := 0
				h := func(_, _ uint16, _ []byte) { n++ }
				for {
					if c.Read(h, 64) == 0 {
						mu.Lock()
						left -= n
						done := left <= 0
						mu.Unlock()
						n = 0
						if done {
							return
						}
						runtime.Gosched()
					}
				}
			}()
		}
		var put sync.WaitGroup
		for i := 0; i < producers; i++ {
			p, _ := NewMPMCProducer(buf)
			put.Add(1)
			go func() {
				defer put.Done()
				for j := 0; j < per; j++ {
					dst, err := p.Claim(1, size)
					for err != nil {
						runtime.Gosched()
						dst, err = p.Claim(1, size)
					}
					binary.LittleEndian.PutUint64(dst, uint64(j))
					p.Commit()
				}
			}()
		}
		put.Wait()
		got.Wait()
		b.ReportMetric(float64(per*producers)/b.Elapsed().Seconds(), "msgs/s")
	})
	b.Run("impl=chan/p=2/c=2", func(b *testing.B) {
		ch := make(chan [size]byte, 4096)
		b.SetBytes(size)
		b.ReportAllocs()
		b.ResetTimer()
		per := b.N / producers
		var wg sync.WaitGroup
		for i := 0; i < producers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var v [size]byte
				for j := 0; j < per; j++ {
					binary.LittleEndian.PutUint64(v[:], uint64(j))
					ch <- v
				}
			}()
		}
		var rg sync.WaitGroup
		for i := 0; i < consumers; i++ {
			rg.Add(1)
			go func(n int) {
				defer rg.Done()
				for j := 0; j < n; j++ {
					<-ch
				}
			}(per * producers / consumers)
		}
		wg.Wait()
		rg.Wait()
		b.ReportMetric(float64(per*producers)/b.Elapsed().Seconds(), "msgs/s")
	})
}
