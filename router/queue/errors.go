package queue

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. The hot paths (Push, Ack, Nak, Term,
// InProgress) return them bare so that a refusal allocates nothing; the
// declaration paths (Config, Registry) wrap them with the name and field.
var (
	// ErrInvalidConfig: a Config that Validate refuses.
	ErrInvalidConfig = errors.New("queue: invalid config")
	// ErrConfigConflict: a queue declared again with a different Config.
	ErrConfigConflict = errors.New("queue: config conflict")
	// ErrInvalidName: a queue name that is not a valid topic.
	ErrInvalidName = errors.New("queue: invalid name")
	// ErrNotFound: no such queue, consumer, binding or held message.
	ErrNotFound = errors.New("queue: not found")
	// ErrNotInFlight: the message is held but not delivered (ready or
	// waiting out a Nak delay), so it cannot be settled.
	ErrNotInFlight = errors.New("queue: message not in flight")
	// ErrQueueFull: the message was refused for want of room (Reject, or
	// DropOldest with nothing it may drop). Nothing was queued.
	ErrQueueFull = errors.New("queue: full")
	// ErrWouldBlock: the queue (Block policy) is full; the router holds the
	// sender and retries after an EventRoom. It matches ErrQueueFull too.
	ErrWouldBlock = fmt.Errorf("queue: full, sender must wait for room: %w", ErrQueueFull)
	// ErrTooLarge: the payload is larger than the queue's MaxBytes, so no
	// amount of waiting or dropping would make room for it.
	ErrTooLarge = errors.New("queue: message larger than the queue")
	// ErrDuplicateID: a message with this id is already held.
	ErrDuplicateID = errors.New("queue: duplicate message id")
	// ErrExpired: the message's deadline had passed when it was pushed.
	ErrExpired = errors.New("queue: message expired")
	// ErrBadPriority: a priority above MaxPriority.
	ErrBadPriority = errors.New("queue: priority out of range")
	// ErrConsumerExists: AddConsumer with an id already registered.
	ErrConsumerExists = errors.New("queue: consumer already registered")
	// ErrBadPrefetch: a prefetch limit below 1.
	ErrBadPrefetch = errors.New("queue: prefetch must be at least 1")
)
