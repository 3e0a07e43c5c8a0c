// Package bus is the client API of shmbus, modelled on nats.go: Connect,
// Publish, Subscribe, QueueSubscribe, Request and Respond, SubscribeSync and
// NextMsg, Flush, Drain, Close; and point-to-point queues held by the
// router: DeclareQueue, Send, Consume, Ack.
//
//	 your process                                          router process
//	+------------------------------------------+         +----------------+
//	| Publish/Request --mutex--> producer -----+-- in -->|                |
//	|                                          | ring    | topic trie,    |
//	| dispatcher goroutine <---- consumer <----+-- out --| fan-out,       |
//	|   handlers (zero copy), sync subs,       | ring    | queue groups   |
//	|   replies, pongs, async errors           |         |                |
//	| watcher goroutine  ---- Unix socket -----+-------->| Hello/Welcome, |
//	|   (EOF: router gone, reconnect)          |         | then silence   |
//	+------------------------------------------+         +----------------+
//
// A Conn creates its own connection segment (two SPSC rings in shared
// memory, see internal/conn) and tells the router about it over the router's
// Unix socket. After that handshake every message, subscription and flush
// travels through the rings; the socket stays open only so that each side
// sees the other die (EOF).
//
// # Zero-copy receive
//
// A handler given to Subscribe or QueueSubscribe runs on the connection's
// single dispatcher goroutine, and the *Msg it gets, msg.Data in particular,
// point into the shared-memory ring:
//
//	VALID ONLY UNTIL THE HANDLER RETURNS.
//
// After that the router overwrites the bytes and the dispatcher reuses the
// Msg value. To keep a message, or to hand it to another goroutine, call
// msg.Copy(). The strings of a Msg (Topic, Reply) and its Header are always
// owned and safe to keep. This is what makes delivery cost no allocation: a
// message without headers and without a reply topic reaches a handler with
// zero allocations (see TestDeliveryDoesNotAllocate).
//
// Because handlers share one goroutine, a handler that blocks delays every
// other subscription of the Conn, and a handler that waits for the bus
// itself — Request, Flush, Drain or NextMsg on the same Conn — cannot be
// answered until it returns: it waits for its timeout. Start a goroutine for
// such work, or use a second Conn. SubscribeSync, QueueSubscribeSync and
// ChanSubscribe deliver owned copies instead.
//
// # Publishing
//
// Publish encodes the message straight into the claimed ring space (no
// allocation without headers) and returns nil only once it is in the ring.
// When the ring is full it waits for room, up to the publish timeout
// (WithPublishTimeout), then fails with ErrBusFull.
//
// # Queues
//
// Besides publish/subscribe (every matching subscription gets a copy, now
// or never), the router holds queues: DeclareQueue makes one (bounded,
// see QueueConfig), Send puts a message in it and returns only once the
// router confirmed it is there (or with the reason it is not:
// ErrQueueFull, ErrQueueNotFound, ErrExpired...), BindQueue makes it take
// what is published to matching topics too. Consume takes the messages
// out, the highest Priority first, each to one consumer at a time, at most
// Prefetch unsettled per consumer; the consumer settles each one with
// Msg.Ack, Nak (redeliver, Msg.Deliveries counting), Term (dead-letter) or
// InProgress. There is no auto-ack: a delivery a handler leaves unsettled
// stays in flight until the queue's ack timeout, then comes back.
//
//	c.DeclareQueue("jobs", bus.QueueConfig{MaxMsgs: 10_000})
//	c.Send("jobs", payload)                       // confirmed: it is queued
//	c.Consume("jobs", func(m *bus.Msg) { work(m.Data); m.Ack() })
//
// SendAsync is Send without the wait: the verdict comes to a callback, on
// the dispatcher goroutine. Sending and waiting for the confirm allocate
// nothing in the steady state, nor does a delivery to a Consume handler
// or settling it.
//
// Every message may carry a Priority (0 to 9, default 4), a TTL and a
// Deadline (CLOCK_MONOTONIC, the earlier wins). The router does not route
// or queue an expired message, a queue expires messages anywhere in it,
// and a subscription drops (and counts, Subscription.Expired) a message
// that expired while it waited in the ring to this process. WithFilter and
// Filter give a subscription or a consumer a selector over the headers,
// the topic and the priority, evaluated by the router:
//
//	region == "eu" && amount > 100 && $priority >= 5
//
// # Losing the router
//
// When the router goes away the Conn keeps working locally: Publish goes on
// filling the in ring, and a watcher goroutine redials with backoff
// (WithReconnectWait, WithMaxReconnects). The reconnecting Hello names the
// same segment and connection id and lists the live subscriptions; the new
// router registers them and then drains the in ring, so what was published
// during the outage is delivered, in order. Queue consumers are
// re-registered the same way; queues themselves live in the router (a
// restarted router has only what its journal kept), and a Send the old
// router read but never confirmed fails with ErrUnconfirmed.
//
// Timestamps (Msg.PubTime, MonotonicNanos) are CLOCK_MONOTONIC nanoseconds,
// comparable between processes of one host.
package bus
