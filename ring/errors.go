package ring

import "errors"

// Sentinel errors; callers test them with errors.Is.
var (
	// ErrFull means there is no room for the record now (non-blocking calls).
	ErrFull = errors.New("shmbus: ring full")
	// ErrTooLarge means the record can never fit the ring.
	ErrTooLarge = errors.New("shmbus: record too large for ring")
	// ErrClaimPending means Claim was called while an earlier claim is open.
	ErrClaimPending = errors.New("shmbus: claim already pending")
	// ErrNoClaim means Commit or Abort was called without an open claim.
	ErrNoClaim = errors.New("shmbus: no pending claim")
	// ErrBadLayout means a region does not hold a valid ring of the expected kind.
	ErrBadLayout = errors.New("shmbus: bad ring layout")
	// ErrCorrupt means the consumer found a record that cannot be valid
	// (bad length, header outside the ring): the producer is broken or hostile.
	ErrCorrupt = errors.New("shmbus: corrupt ring")
	// ErrAttached means the side is already owned by a live process.
	ErrAttached = errors.New("shmbus: ring side already attached")
	// ErrClaimRevoked means an MPMC claim was taken over by a consumer because
	// the producer stalled past the stuck-claim timeout; the record is dropped.
	ErrClaimRevoked = errors.New("shmbus: claim revoked")
	// ErrTooManyProducers means all MaxProducers producer entries are in use.
	ErrTooManyProducers = errors.New("shmbus: too many producers")
	// ErrTooManyConsumers means all MaxConsumers consumer entries are in use.
	ErrTooManyConsumers = errors.New("shmbus: too many consumers")
	// ErrClosed means the producer or consumer was closed.
	ErrClosed = errors.New("shmbus: ring closed")
)
