package persist

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
)

// benchPayload is journal-shaped data: a queue enqueue of a JSON-ish
// message, so compression figures mean something.
func benchPayload(i, size int) []byte {
	body := fmt.Appendf(nil, `{"order":%d,"customer":"c-%d","items":[{"sku":"A-%d","qty":%d}],"note":"`, i, i%977, i%131, i%7)
	for len(body) < size-2 {
		body = append(body, "lorem ipsum "[len(body)%12])
	}
	body = append(body, `"}`...)
	return appendEnqueue(nil, &QueueMessage{ID: uint64(i), Priority: uint8(i % 10), Topic: "orders.eu.created", Payload: body[:max(size-2, 0)]})
}

func BenchmarkAppend(b *testing.B) {
	for _, d := range []Durability{DurabilityNone, DurabilityBatch, DurabilitySync} {
		for _, size := range []int{64, 1024} {
			b.Run(fmt.Sprintf("policy=%s/size=%d", d, size), func(b *testing.B) {
				l := mustOpen(b, b.TempDir(), WithDurability(d), WithCompression(CodecNone))
				p := benchPayload(1, size)
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := l.Append(1, p); err != nil {
						b.Fatal(err)
					}
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				st := l.Stats()
				b.ReportMetric(st.RecordsPerFsync, "msgs/fsync")
			})
		}
	}
}

// BenchmarkGroupCommit: senders each append and wait for their own
// confirmation under DurabilitySync; group commit shares fsyncs.
func BenchmarkGroupCommit(b *testing.B) {
	for _, senders := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			l := mustOpen(b, b.TempDir(), WithDurability(DurabilitySync), WithCompression(CodecNone))
			p := benchPayload(1, 256)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			var wg sync.WaitGroup
			per := b.N/senders + 1
			b.ResetTimer()
			for range senders {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						seq, err := l.Append(1, p)
						if err == nil {
							err = l.WaitConfirmed(context.Background(), seq)
						}
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			st := l.Stats()
			b.ReportMetric(st.RecordsPerFsync, "msgs/fsync")
			b.ReportMetric(float64(per*senders)/b.Elapsed().Seconds(), "confirmed/s")
			l.Close()
		})
	}
}

// BenchmarkReplay reads a 4 MiB log back, compressed or not.
func BenchmarkReplay(b *testing.B) {
	for _, c := range []Codec{CodecNone, CodecS2, CodecZstd} {
		b.Run("codec="+c.String(), func(b *testing.B) {
			dir := b.TempDir()
			l := mustOpen(b, dir, WithCompression(c), WithSegmentSize(1<<20))
			var total int64
			for i := 0; total < 4<<20; i++ {
				p := benchPayload(i, 256)
				total += int64(len(p))
				l.Append(1, p)
			}
			l.Sync(context.Background())
			l.Maintain()
			b.SetBytes(total)
			b.ReportAllocs()
			for b.Loop() {
				r := l.NewReader(0)
				for {
					if _, err := r.Next(); err != nil {
						break
					}
				}
				r.Close()
			}
			l.Close()
		})
	}
}

// BenchmarkCompression compresses a 4 MiB records area of journal-shaped
// data and reports the ratio (raw/compressed).
func BenchmarkCompression(b *testing.B) {
	var raw []byte
	for i := 0; len(raw) < 4<<20; i++ {
		raw = appendRecord(raw, 1, uint64(i+1), int64(i)*1000, benchPayload(i, 256))
	}
	for _, c := range []Codec{CodecS2, CodecZstd} {
		b.Run("codec="+c.String()+"/op=compress", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			var out []byte
			for b.Loop() {
				out, _ = compress(c, out[:0], raw)
			}
			b.ReportMetric(float64(len(raw))/float64(len(out)), "ratio")
		})
		b.Run("codec="+c.String()+"/op=decompress", func(b *testing.B) {
			comp, _ := compress(c, nil, raw)
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				got, err := decompress(c, comp, int64(len(raw)))
				if err != nil || !bytes.Equal(got[:64], raw[:64]) {
					b.Fatal(err)
				}
			}
		})
	}
}
