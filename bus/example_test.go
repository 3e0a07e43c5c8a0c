package bus_test

import (
	"context"
	"errors"
	"fmt"
	"log"
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
