package queue

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkPushDispatchAck is the cost of one message through the queue:
// Push, Next (round robin over the consumers), Ack.
func BenchmarkPushDispatchAck(b *testing.B) {
	for _, consumers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("consumers=%d", consumers), func(b *testing.B) {
			cfg := testConfig()
			cfg.AckTimeout = 30 * time.Second
			q, _ := newTestQueue(b, cfg)
			for c := range consumers {
				q.AddConsumer(ConsumerID(c+1), 16)
			}
			payload := make([]byte, 128)
			b.SetBytes(int64(len(payload)))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				q.Push(uint64(i), DefaultPriority, 0, payload)
				d, _ := q.Next()
				q.Ack(d.ID)
			}
		})
	}
}

// BenchmarkDispatchHigh is the cost of pushing and dispatching one
// high-priority message, with 10,000 low-priority ones waiting or none.
func BenchmarkDispatchHigh(b *testing.B) {
	for _, backlog := range []int{0, 10_000} {
		for _, st := range []Starvation{Strict, Aging} {
			b.Run(fmt.Sprintf("backlog=%d/starvation=%s", backlog, st), func(b *testing.B) {
				cfg := testConfig()
				cfg.MaxMsgs = backlog + 10
				cfg.Starvation = st
				if st == Aging {
					cfg.AgingLimit = 1 << 30 // measure the high path only
				}
				q, _ := newTestQueue(b, cfg)
				q.AddConsumer(1, 1)
				payload := make([]byte, 64)
				for i := range backlog {
					q.Push(uint64(1<<40+i), 0, 0, payload)
				}
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					q.Push(uint64(i), 9, 0, payload)
					d, _ := q.Next()
					if d.Priority != 9 {
						b.Fatal("low message dispatched")
					}
					q.Ack(d.ID)
				}
			})
		}
	}
}

// BenchmarkTTL compares a message through the queue with and without a
// deadline (the expiry heap): each push goes behind 1,000 waiting messages
// of its level (with deadlines when ttl=true) and the oldest is dispatched.
func BenchmarkTTL(b *testing.B) {
	for _, ttl := range []bool{false, true} {
		b.Run(fmt.Sprintf("ttl=%v", ttl), func(b *testing.B) {
			cfg := testConfig()
			cfg.MaxMsgs = 2000
			if ttl {
				cfg.DefaultTTL = time.Hour
			}
			q, clk := newTestQueue(b, cfg)
			q.AddConsumer(1, 1)
			payload := make([]byte, 64)
			for i := range 1000 {
				q.Push(uint64(1<<40+i), 0, 0, payload)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				clk.now++
				q.Push(uint64(i), 0, 0, payload)
				d, _ := q.Next()
				q.Ack(d.ID)
				q.Tick(clk.now)
			}
		})
	}
}
