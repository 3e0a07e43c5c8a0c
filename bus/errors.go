package bus

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/topic"
	"github.com/shmbus/shmbus/internal/wire"
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
	// ErrBadFilter: a selector given to WithFilter or Filter does not
	// compile (see the selector language in the package documentation).
	// Such errors wrap ErrInvalidOption too.
	ErrBadFilter = selector.ErrSyntax

	// Queues. The router's answers carry a result code, each mapped to one
	// of these; the error wraps it with the router's explanation.

	// ErrQueueNotFound: no queue by that name.
	ErrQueueNotFound = errors.New("shmbus: queue not found")
	// ErrQueueConflict: DeclareQueue of a queue that exists with another
	// config.
	ErrQueueConflict = errors.New("shmbus: queue exists with a different config")
	// ErrQueueInvalid: a bad queue name, config, binding pattern or
	// request.
	ErrQueueInvalid = errors.New("shmbus: invalid queue request")
	// ErrQueueFull: the queue refused the message (overflow reject, or
	// overflow block past its block timeout). It is not queued.
	ErrQueueFull = errors.New("shmbus: queue full")
	// ErrExpired: the message's deadline passed before it could be queued.
	// It is not queued.
	ErrExpired = errors.New("shmbus: message expired")
	// ErrQueueDeleted: the queue a consumer took from was deleted; the
	// consumer has ended (reported to the error handler).
	ErrQueueDeleted = errors.New("shmbus: queue deleted")
	// ErrNotHeld: the router refused a settle (Ack, Nak, Term, InProgress)
	// because the delivery is no longer in flight with that consumer: its
	// ack timeout passed, or the consumer ended (reported to the error
	// handler).
	ErrNotHeld = errors.New("shmbus: delivery not held by this consumer")
	// ErrNotQueued: Ack, Nak, Term or InProgress on a message that is not
	// a delivery from a queue.
	ErrNotQueued = errors.New("shmbus: not a queue delivery")
	// ErrAlreadySettled: Ack, Nak, Term or InProgress on a delivery already
	// acked, naked or termed through this Msg.
	ErrAlreadySettled = errors.New("shmbus: delivery already settled")
	// ErrUnconfirmed: the router took a sent message but went away before
	// confirming it; whether it was queued is unknown (a restarted router
	// keeps only durable queues).
	ErrUnconfirmed = errors.New("shmbus: router went away before confirming the message")
)

// codeErr maps a router result code (wire.Code*) and its text to an error
// wrapping the code's sentinel; nil for CodeOK.
func codeErr(code uint32, text []byte) error {
	var sentinel error
	switch code {
	case wire.CodeOK:
		return nil
	case wire.CodeQueueNotFound:
		sentinel = ErrQueueNotFound
	case wire.CodeQueueConflict:
		sentinel = ErrQueueConflict
	case wire.CodeQueueInvalid:
		sentinel = ErrQueueInvalid
	case wire.CodeQueueFull:
		sentinel = ErrQueueFull
	case wire.CodeMsgExpired:
		sentinel = ErrExpired
	case wire.CodeMsgTooLarge:
		sentinel = ErrMaxPayload
	case wire.CodeNotHeld:
		sentinel = ErrNotHeld
	case wire.CodeQueueDeleted:
		sentinel = ErrQueueDeleted
	case wire.CodeBadSub:
		sentinel = ErrBadSubscription
	default:
		return fmt.Errorf("%w: result code %d: router: %s", ErrRejected, code, text)
	}
	if len(text) == 0 {
		return sentinel
	}
	return fmt.Errorf("%w: router: %s", sentinel, text)
}
