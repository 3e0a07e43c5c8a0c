package ipc

import "strconv"

// Kind says what a segment holds. It is stored in the header and checked on
// Open, so a consumer can never map an MPMC ring as an SPSC one.
type Kind uint16

// Segment kinds. These values are part of the on-disk format: never renumber.
const (
	// KindAny is accepted by Open and ValidateHeader as "any known kind"
	// (for inspection tools). Create refuses it.
	KindAny      Kind = 0
	KindSPSC     Kind = 1 // single-producer single-consumer ring
	KindMPMC     Kind = 2 // multi-producer multi-consumer ring
	KindCounters Kind = 3 // counters / metrics page
	KindControl  Kind = 4 // control block (registry, heartbeats)
	KindConn     Kind = 5 // one client connection: two SPSC rings (internal/conn)
)

// known reports whether k is a concrete kind a segment may have.
func (k Kind) known() bool { return k >= KindSPSC && k <= KindConn }

// String returns the lower-case name ("spsc", "mpmc", ...) or "kind(N)".
func (k Kind) String() string {
	switch k {
	case KindAny:
		return "any"
	case KindSPSC:
		return "spsc"
	case KindMPMC:
		return "mpmc"
	case KindCounters:
		return "counters"
	case KindControl:
		return "control"
	case KindConn:
		return "conn"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}
