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

// BenchmarkSend is a queue send: "sync" waits for each confirm (one round
// trip per message), "async" keeps them in flight (SendAsync); a consumer
// on another connection acks everything.
func BenchmarkSend(b *testing.B) {
	dir := b.TempDir()
	startRouter(b, dir)
	prod, cons := connect(b, dir), connect(b, dir)
	if _, err := prod.DeclareQueue("bench.q", QueueConfig{MaxMsgs: 1 << 20, MaxBytes: 1 << 30}); err != nil {
		b.Fatal(err)
	}
	var acked atomic.Int64
	if _, err := cons.Consume("bench.q", func(m *Msg) { m.Ack(); acked.Add(1) }, Prefetch(256)); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 64)
	b.Run("mode=sync", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := prod.Send("bench.q", data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("mode=async", func(b *testing.B) {
		var confirmed atomic.Int64
		done := func(err error) {
			if err != nil {
				b.Error(err)
			}
			confirmed.Add(1)
		}
		m := &Msg{Topic: "bench.q", Data: data}
		b.ReportAllocs()
		sent := int64(0)
		for b.Loop() {
			if err := prod.SendAsync(m, done); err != nil {
				b.Fatal(err)
			}
			sent++
		}
		for confirmed.Load() < sent {
			runtime.Gosched()
		}
		b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
	})
}
