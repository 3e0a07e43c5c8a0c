// Package queue is the in-memory core of shmbus point-to-point queues:
// bounded, prioritised, with TTL, competing consumers, acknowledgements,
// redelivery and dead letters. It is a pure data structure: the router's
// event loop owns every Queue and the Registry and calls them; nothing here
// is safe for concurrent use, blocks, or starts a goroutine. Time comes from
// an injected Clock (CLOCK_MONOTONIC nanoseconds), and Tick(now) runs the
// timers, so the tests are deterministic.
//
//	                 Push (copy into a pooled buffer)
//	                   |
//	byID map[id]*msg   v            ready: one FIFO list per priority,
//	(every held     levels[9] [m]-[m]           sorted by enqueue seq
//	 message)       levels[8]                   (mask: non-empty levels)
//	                  ...
//	                levels[0] [m]-[m]-[m]-[m]
//	                   |   Next: pick (Strict / Aging), skip expired
//	                   v
//	credit list:    consumer A (prefetch 2): in flight [m]-[m]
//	round robin     consumer B (prefetch 1): in flight [m]
//	over consumers     |
//	with credit        +-- Ack ------------------------> gone (buffer to pool)
//	                   +-- Nak(0), ack timeout, gone --> back to the head of
//	                   |                                 its level, in seq order
//	                   +-- Nak(d) --> delayed --------->  (after d, same way)
//	                   +-- Term, MaxDeliveries --------> dead letter event
//
//	expiry heap  (deadline of ready and delayed messages) --+-- Tick(now):
//	timer heap   (ack deadline, end of Nak delay)         --+   O(k log n)
//
// Semantics:
//
//   - Bounded: MaxMsgs and MaxBytes count every held message, ready,
//     delayed (Nak with a delay) or in flight. Overflow policies: Reject,
//     DropOldest and Block (see Overflow).
//   - Order: higher priority first; FIFO by enqueue order within a level. A
//     message that comes back (Nak, ack timeout, ConsumerGone, end of a Nak
//     delay) keeps its enqueue sequence number and goes back to the head of
//     its level ahead of everything enqueued after it, so several coming
//     back keep their original order.
//   - Starvation: Strict serves the highest non-empty level always. Aging
//     (AgingLimit N) serves the highest level, but after N consecutive such
//     deliveries made while a lower level had a ready message, it serves the
//     oldest ready message below the highest level once. Guarantee: while a
//     message m is ready, every N+1 consecutive deliveries include m or a
//     message enqueued before m; so m is delivered within (N+1)(k+1)
//     deliveries, k being the number of ready messages enqueued before it
//     (messages that come back count in k again).
//   - Delivery: each message is in flight with at most one consumer at a
//     time; Next serves consumers with credit (in flight < prefetch) in
//     round-robin order. The delivery count goes up at each delivery (1 on
//     the first) and travels with the message into dead letters. A message
//     that comes back having been delivered MaxDeliveries times is
//     dead-lettered (ReasonMaxDeliveries).
//   - Filters: a consumer may have a Filter (the router's selector). It is
//     handed only messages its filter accepts, the first in delivery order
//     (priority, then FIFO), looking at most MaxFilterScan ready messages
//     deep per call; the others stay ready for other consumers. PeekFor
//     announces the size of what NextFor would hand out, without handing
//     it out, so the router can claim room in the consumer's ring first.
//   - TTL: a message's deadline is the earlier of its own and its enqueue
//     time plus DefaultTTL. A ready or delayed message expires anywhere in the
//     queue (expiry heap, O(log n) unlink); Next re-checks so an expired
//     message is never handed out; an in-flight message is left to its
//     consumer, and expires if it comes back after its deadline.
//   - Events (dead letters, alerts raised and cleared, room under Block)
//     accumulate in a reused slice the router drains (Events, ClearEvents).
//     Dead letters go out only when the queue has a DeadLetter target;
//     without one the message is discarded and only counted.
//
// Memory: messages and payload buffers (power-of-two size classes) come
// from per-queue free lists, so a steady push/deliver/ack cycle allocates
// nothing.
package queue
