package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shmbus/shmbus/bus"
)

// Examples that need a running router (shmbusd) have no Output line: they
// are compiled, not run. The tests run the same calls against a router.

func ExampleConnect() {
	nc, err := bus.Connect(
		bus.WithName("billing"),
		bus.WithDisconnectHandler(func(_ *bus.Conn, err error) { log.Printf("router gone: %v", err) }),
		bus.WithReconnectHandler(func(*bus.Conn) { log.Print("router back") }),
		bus.WithErrorHandler(func(_ *bus.Conn, s *bus.Subscription, err error) { log.Printf("async error: %v", err) }),
	)
	if errors.Is(err, bus.ErrNoRouter) {
		log.Fatal("is shmbusd running?")
	}
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
}

func ExampleConn_Publish() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// Publish returns once the message is in shared memory; no allocation.
	if err := nc.Publish("orders.eu.created", []byte(`{"id":42}`)); err != nil {
		log.Fatal(err)
	}
	// Flush waits until the router has taken everything published so far.
	if err := nc.Flush(); err != nil {
		log.Fatal(err)
	}
}

func ExampleConn_Subscribe() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	kept := make(chan *bus.Msg, 64)
	_, err = nc.Subscribe("orders.*.created", func(m *bus.Msg) {
		// m and m.Data point into the shared-memory ring: use them here...
		log.Printf("%s: %d bytes, %v after publishing", m.Topic, len(m.Data), m.Latency())
		// ...and Copy what must outlive the handler.
		kept <- m.Copy()
	})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleConn_SubscribeSync() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("prices.>")
	if err != nil {
		log.Fatal(err)
	}
	for {
		m, err := sub.NextMsg(time.Second) // an owned copy
		if errors.Is(err, bus.ErrTimeout) {
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s %s\n", m.Topic, m.Data)
	}
}

func ExampleConn_QueueSubscribe() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// Each job goes to one member of the "workers" group. Block: when this
	// worker's ring is full, the router holds the publisher up to 50 ms
	// instead of dropping.
	_, err = nc.QueueSubscribe("jobs.>", "workers", func(m *bus.Msg) {
		log.Printf("job %s", m.Data)
	}, bus.WithBlock(50*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleConn_Request() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	reply, err := nc.Request("quotes.get", []byte("EURUSD"), 100*time.Millisecond)
	switch {
	case errors.Is(err, bus.ErrNoResponders):
		log.Print("no quote service running")
	case errors.Is(err, bus.ErrTimeout):
		log.Print("the quote service did not answer")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("quote: %s\n", reply.Data)
	}
}

func ExampleConn_RequestWithContext() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	reply, err := nc.RequestWithContext(ctx, "quotes.get", []byte("EURUSD"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("quote: %s\n", reply.Data)
}

func ExampleMsg_Respond() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// A service: answer every request on quotes.get.
	_, err = nc.Subscribe("quotes.get", func(m *bus.Msg) {
		if err := m.Respond([]byte("1.0842")); err != nil {
			log.Print(err)
		}
	})
	if err != nil {
		log.Fatal(err)
	}
}

func ExampleConn_PublishMsg() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	m := &bus.Msg{Topic: "orders.eu.created", Header: bus.Header{}, Data: []byte(`{"id":42}`)}
	m.Header.Set("Trace-Id", "4bf92f35")
	if err := nc.PublishMsg(m); err != nil {
		log.Fatal(err)
	}
}

func ExampleConn_ChanSubscribe() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	ch := make(chan *bus.Msg, 1024) // buffered: a full channel drops (ErrSlowConsumer)
	if _, err := nc.ChanSubscribe("alerts.>", ch); err != nil {
		log.Fatal(err)
	}
	for m := range ch {
		fmt.Printf("%s %s\n", m.Topic, m.Data)
	}
}

func ExampleConn_Drain() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	nc.Subscribe("jobs.>", func(m *bus.Msg) { /* ... */ })
	// At shutdown: stop taking new messages, finish those on their way,
	// then close.
	if err := nc.Drain(); err != nil {
		log.Print(err)
	}
}

func ExampleConn_DeclareQueue() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// Bounded at 10,000 messages; a message delivered 5 times without an
	// Ack goes to the "jobs.dead" queue; alerts at 80% and 100% full.
	info, err := nc.DeclareQueue("jobs", bus.QueueConfig{
		MaxMsgs:       10_000,
		Overflow:      bus.OverflowReject,
		AckTimeout:    10 * time.Second,
		MaxDeliveries: 5,
		DeadLetter:    "queue:jobs.dead",
	})
	if errors.Is(err, bus.ErrQueueConflict) {
		log.Fatal("jobs exists with another config: ", err)
	}
	if err != nil {
		log.Fatal(err)
	}
	// Publishes to resize.* go into the queue too.
	if err := nc.BindQueue(info.Name, "resize.*"); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d of %d messages\n", info.Name, info.Depth, info.Config.MaxMsgs)
}

func ExampleConn_Send() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// Send returns nil once the message is in the queue.
	err = nc.SendMsg(&bus.Msg{
		Topic:    "jobs", // the queue
		Data:     []byte(`{"image":42}`),
		Priority: bus.Prio(7), // 0 to 9; DefaultPriority (4) when not set
		TTL:      time.Minute, // not delivered after that
	})
	switch {
	case errors.Is(err, bus.ErrQueueFull):
		log.Print("jobs is full: try later")
	case errors.Is(err, bus.ErrQueueNotFound):
		log.Print("no jobs queue: declare it first")
	case err != nil:
		log.Fatal(err)
	}
}

func ExampleConn_SendAsync() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// Many messages in flight at once; each confirm calls done, on the
	// dispatcher goroutine: keep it short.
	var wg sync.WaitGroup
	var failed atomic.Int64
	done := func(err error) {
		if err != nil {
			failed.Add(1)
		}
		wg.Done()
	}
	m := &bus.Msg{Topic: "jobs"}
	for i := range 1000 {
		m.Data = []byte(fmt.Sprint(i))
		wg.Add(1)
		if err := nc.SendAsync(m, done); err != nil {
			wg.Done()
			log.Print(err)
		}
	}
	wg.Wait()
	fmt.Println(failed.Load(), "not queued")
}

func ExampleConn_Consume() {
	nc, err := bus.Connect()
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	// At most 16 unsettled deliveries at once, only the urgent ones.
	sub, err := nc.Consume("jobs", func(m *bus.Msg) {
		// Zero copy, like a Subscribe handler: m.Copy() to keep it.
		if err := process(m.Data); err != nil {
			if m.Deliveries >= 3 {
				m.Term() // give up: dead-letter it
				return
			}
			m.Nak(time.Second) // try again in a second
			return
		}
		m.Ack() // explicit: without it, it comes back at the ack timeout
	}, bus.Prefetch(16), bus.Filter(`$priority >= 5`))
	if err != nil {
		log.Fatal(err)
	}
	defer sub.Unsubscribe()
}

func process([]byte) error { return nil }

func ExampleHeader() {
	h := bus.Header{}
	h.Set("Content-Type", "application/json")
	h.Add("Tag", "eu")
	h.Add("Tag", "priority")
	fmt.Println(h.Get("Content-Type"), h.Values("Tag"))
	// Output: application/json [eu priority]
}

func ExampleValidatePattern() {
	for _, p := range []string{"orders.*.created", "orders.>", "orders.>.created", "orders*"} {
		fmt.Println(p, bus.ValidatePattern(p) == nil)
	}
	// Output:
	// orders.*.created true
	// orders.> true
	// orders.>.created false
	// orders* false
}
