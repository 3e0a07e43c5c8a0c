// Package router is the broker core of shmbus: it owns the topic trie and
// every client's rings, and moves each published message to every matching
// subscription. It is embeddable (New, Start, Close); cmd/shmbusd wraps it
// as a daemon.
//
//	            control goroutines                    event loop (one goroutine)
//	client --- Unix socket --> accept, SO_PEERCRED,  ---> events: add/remove client
//	           (handshake,     Hello/Welcome, attach       |
//	            then EOF)      the client's segment        v
//	                                              for each client, round robin:
//	client --- in ring (shm) -------------------------> ReadWhile records:
//	                                                    pub   -> Sublist.Match -> copy into
//	client <-- out ring (shm) <------------------------           each subscriber's out ring
//	                                                    sub/unsub/ping -> trie, pong
//	                                              nothing to do -> idle strategy, parking
//	                                              on the router doorbell every client rings
//
// Lock order: Router.mu (control state: listener, event queue) is the only
// lock; the event loop takes it only to drain the event queue, and never
// while touching rings. Everything else (trie, clients, subscriptions,
// counters) belongs to the event loop alone. (The queue wake-up timer's
// qstate.wakeMu only orders its doorbell ring before shutdown; it is taken
// with no other lock held and never on the loop's hot path.)
//
// Guarantees, per publisher: its messages reach every subscriber in the
// order it published them (one loop reads its ring in order and appends to
// each subscriber's ring in order). A subscription with the drop policy
// loses what does not fit in its client's ring (counted, reported with an
// asynchronous slow-consumer error); one with the block policy holds its
// publisher's ring, and that publisher only, up to the subscription's block
// timeout, then drops (counted, reported). Other publishers and
// subscribers go on.
//
// # Queues
//
// Point-to-point queues (protocol version 2, the frames of internal/wire's
// queue.go) live in the loop as well: the loop owns a queue.Registry (the
// messages, priorities, TTL, credit and settlement: router/queue) and,
// around it, the router's side (queues.go): who consumes, the topic
// bindings, the timers, and what is waiting.
//
//	TypeCtl ----------> ctl.go: declare, delete, bind, purge, info, list --> TypeCtlReply
//	TypeSend ---------> qsend.go: Push(the whole Msg frame) ----------------> TypeConfirm
//	TypePub --(a binding matches)--> Push (no confirm; refusals counted)
//	TypeConsume, Unsub -> qconsume.go: consumers, round robin
//	TypeSettle -------> Holder check, then Ack / Nak(delay) / Term / InProgress
//	                      |
//	      touched queues, due timers, consumers whose ring had room again
//	                      v
//	queueWork (once per loop pass, when anything is pending):
//	  dispatch: PeekFor (size) -> Claim in the consumer's ring -> NextFor
//	            -> copy, SetDelivery(sid, FlagQueued, count) -> TypeMsg
//	  events:   dead letters (to queue:NAME or topic:NAME, with the
//	            Shmbus-Dead-* headers), alerts ($SYS.QUEUE.<name>.ALERT, log)
//	  timers:   the queue's next deadline into a heap of queues
//
// In detail:
//
//   - Send: the stored payload is the client's Msg frame as it came (its
//     topic the queue's name; priority and deadline from the frame), so a
//     delivery is one copy into the consumer's ring and a patch of sid,
//     flags and delivery count. Every send is confirmed: code 0, or
//     CodeQueueNotFound, CodeQueueFull, CodeMsgExpired, CodeMsgTooLarge,
//     CodeDuplicate with a text.
//   - Overflow Block holds the sender's record at the head of its ring (the
//     handler returns false, as for a block-policy subscriber), re-checked
//     on each pass, until the message fits (then pushed and confirmed) or
//     the queue's block timeout passes (then Refuse and CodeQueueFull).
//     Only that sender waits, and its later records with it. A publish
//     through a binding is never held: a Block queue refuses it.
//   - An answer that finds the client's out ring full (a confirm, a ctl
//     reply) is kept in the client's hold and the record stays in its ring
//     until there is room: a push or a request is carried out exactly once.
//   - Dispatch gives each consumer one message per round, round robin,
//     while it has credit (prefetch, default 64), a message its selector
//     accepts (the core's Filter, at most queue.MaxFilterScan deep) and room
//     in its ring. PeekFor gives the size first, so a message is claimed
//     room for before it is handed out and never has to be taken back. A
//     consumer whose ring is full waits on a list polled each pass; an idle
//     loop parks (a settle rings it awake; parks last 100 ms at most).
//   - Settle: only the consumer holding the delivery (Holder) may settle
//     it; anything else gets an error frame (CodeNotHeld, its sid) and
//     changes nothing. A consumer that stops (TypeUnsub) or whose client
//     goes (closed, dead, corrupt ring) is ConsumerGone: its unsettled
//     messages are ready again at once, their delivery count kept.
//   - Timers: after the loop touches a queue it files the queue's next
//     deadline (expiry, ack timeout, end of a Nak delay) in a heap of
//     queues, and a Go timer armed for the earliest one rings the router
//     doorbell, so a parked loop wakes for it. Only due queues are ticked:
//     O(k log n), however many queues exist. periodic checks the heap too.
//   - Bindings are a second Sublist, matched only when it is not empty: a
//     publish with no bindings pays one predictable branch. A publish a
//     binding took is not a no-subscriber message (no 503 status either).
//   - Dead letters carry no deadline (the target's TTL applies) and the
//     target as topic; a message that already died in a queue and would die
//     there again is discarded (a dead-letter cycle), counted.
//   - Private queues (declared with an empty name) belong to their
//     connection: only it may consume, bind, purge or delete them, and they
//     go with it. Anyone may send to one or ask for its info.
//   - Durability (none, batch, sync) is recorded and reported; the journal
//     (persist/) is not connected yet, so every queue lives in the router's
//     memory and does not survive a router restart whatever it says.
//
// The hot paths (send and confirm, dispatch, settle) allocate nothing in
// the steady state (TestQueueLoopAllocs, BenchmarkQueueSendDeliverAck).
package router
