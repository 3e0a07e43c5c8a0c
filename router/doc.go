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
// counters) belongs to the event loop alone.
//
// Guarantees, per publisher: its messages reach every subscriber in the
// order it published them (one loop reads its ring in order and appends to
// each subscriber's ring in order). A subscription with the drop policy
// loses what does not fit in its client's ring (counted, reported with an
// asynchronous slow-consumer error); one with the block policy holds its
// publisher's ring, and that publisher only, up to the subscription's block
// timeout, then drops (counted, reported). Other publishers and
// subscribers go on.
package router
