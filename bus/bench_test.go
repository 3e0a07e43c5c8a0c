package bus

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Benchmarks run the client against the real router, in process (so the
// router's loop shares the CPUs with the benchmark).

var benchSizes = []int{16, 256, 4096}

func BenchmarkPublish(b *testing.B) {
	dir := b.TempDir()
	startRouter(b, dir)
	c := connect(b, dir)
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.Publish("bench.publish", data); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			c.Flush()
		})
	}
}

// BenchmarkPubSub is one publisher to one Subscribe handler, end to end.
func BenchmarkPubSub(b *testing.B) {
	dir := b.TempDir()
	startRouter(b, dir)
	pub, sub := connect(b, dir), connect(b, dir)
	var n atomic.Int64
	sub.Subscribe("bench.pubsub", func(*Msg) { n.Add(1) }, WithBlock(time.Second))
	sub.Flush()
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("size=%d", size), func(b *testing.B) {
			data := make([]byte, size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			start := n.Load()
			sent := int64(0)
			for b.Loop() {
				if err := pub.Publish("bench.pubsub", data); err != nil {
					b.Fatal(err)
				}
				sent++
			}
			for n.Load()-start < sent {
				runtime.Gosched()
			}
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkRequest is a request/reply round trip between two connections.
func BenchmarkRequest(b *testing.B) {
	dir := b.TempDir()
	startRouter(b, dir)
	svc, cli := connect(b, dir), connect(b, dir)
	svc.Subscribe("bench.echo", func(m *Msg) { m.Respond(m.Data) })
	svc.Flush()
	data := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cli.Request("bench.echo", data, time.Second); err != nil {
			b.Fatal(err)
		}
	}
}
