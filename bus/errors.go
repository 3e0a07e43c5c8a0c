package bus

import (
	"errors"

	"github.com/shmbus/shmbus/internal/topic"
	"github.com/shmbus/shmbus/ipc"
)

// Sentinel errors; test them with errors.Is. Errors returned by this package
// wrap one of these and say what was going on.
var (
	// ErrTimeout: a Request, Flush or NextMsg did not complete in time. It is
	// the same value as ipc.ErrTimeout.
	ErrTimeout = ipc.ErrTimeout
	// ErrNoResponders: the router found no subscriber for a request.
	ErrNoResponders = errors.New("shmbus: no responders available for request")
	// ErrSlowConsumer: messages for a subscription were dropped, by the
	// router (its ring to us was full) or locally (a sync or channel
	// subscription's buffer was full).
	ErrSlowConsumer = errors.New("shmbus: slow consumer, messages dropped")
	// ErrConnectionClosed: the Conn was closed (by Close, Drain, or after the
	// last reconnect attempt failed).
	ErrConnectionClosed = errors.New("shmbus: connection closed")
	// ErrBadTopic: a topic or pattern breaks the syntax rules (see
	// ValidateTopic). The same value as router.ErrBadTopic.
	ErrBadTopic = topic.ErrBadTopic
	// ErrMaxPayload: the message is larger than the router or the ring takes.
	ErrMaxPayload = errors.New("shmbus: maximum payload exceeded")
	// ErrBadSubscription: the subscription was unsubscribed, drained, closed
	// with its Conn, or refused by the router.
	ErrBadSubscription = errors.New("shmbus: invalid subscription")
	// ErrInvalidOption: a bad option. It is the same value as
	// ipc.ErrInvalidOption, so errors from idle strategy names match too.
	ErrInvalidOption = ipc.ErrInvalidOption
	// ErrNoRouter: no router listens in the bus directory (no socket, or the
	// connection was refused).
	ErrNoRouter = errors.New("shmbus: no router")
	// ErrRefused: the router answered the handshake with an error.
	ErrRefused = errors.New("shmbus: connection refused by router")
	// ErrBusFull: Publish waited the publish timeout for room in the ring
	// and found none (the router is gone or not keeping up). It wraps
	// ring.ErrFull as well.
	ErrBusFull = errors.New("shmbus: bus full")
	// ErrNoReply: Respond on a message that carries no reply topic.
	ErrNoReply = errors.New("shmbus: message has no reply topic")
	// ErrRejected: the router rejected a record this client wrote (reported
	// to the error handler).
	ErrRejected = errors.New("shmbus: record rejected by router")
)
