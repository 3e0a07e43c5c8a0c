package bus

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Publish without headers allocates nothing: it encodes straight into the
// ring.
func TestPublishDoesNotAllocate(t *testing.T) {
	dir := t.TempDir()
	startFake(t, dir)
	c := connect(t, dir)
	data := make([]byte, 64)
	c.Publish("warm.up", data)
	if a := testing.AllocsPerRun(1000, func() {
		if err := c.Publish("orders.eu.created", data); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("Publish: %v allocs per message", a)
	}
	// With headers: the header block goes through a reused buffer, but the
	// map iteration is the caller's Header; still no allocation per message.
	m := &Msg{Topic: "h", Header: Header{"k": {"v"}}, Data: data}
	c.PublishMsg(m)
	if a := testing.AllocsPerRun(1000, func() { c.PublishMsg(m) }); a != 0 {
		t.Fatalf("PublishMsg with headers: %v allocs per message", a)
	}
}

// Delivery to a Subscribe handler allocates nothing, end to end (publisher,
// the fake router's copy, the dispatcher and the handler): the Msg is
// reused, Data points into the ring, and topics are the pattern (literal
// subscriptions) or interned (wildcards).
func TestDeliveryDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	dir := t.TempDir()
	startFake(t, dir)
	sub, pub := connect(t, dir), connect(t, dir)
	var n atomic.Int64
	var sink int
	handler := func(m *Msg) { sink += len(m.Data) + len(m.Topic); n.Add(1) }
	sub.Subscribe("prices.eur", handler)
	sub.Subscribe("quotes.*", handler)
	sub.Flush()
	data := make([]byte, 64)
	for _, topic := range []string{"prices.eur", "quotes.usd"} {
		want := n.Load() + 1
		pub.Publish(topic, data) // interns "quotes.usd"
		waitFor(t, "warm-up", func() bool { return n.Load() >= want })
		a := testing.AllocsPerRun(1000, func() {
			want := n.Load() + 1
			pub.Publish(topic, data)
			deadline := time.Now().Add(waitLimit)
			for n.Load() < want {
				if time.Now().After(deadline) {
					t.Fatal("message not delivered")
				}
				runtime.Gosched()
			}
		})
		if a != 0 {
			t.Errorf("%s: %v allocs per delivered message", topic, a)
		}
	}
}
