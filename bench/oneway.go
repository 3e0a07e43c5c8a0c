package bench

import "fmt"

// One-way latency (fanin.go): one publisher child sends N messages of Size
// bytes (default 64) at a fixed rate, p.Rate or DefaultOneWayRate, each
// stamped with the CLOCK_MONOTONIC time it was meant to be sent at; this
// process subscribes and records, for every message, its arrival minus
// that intended time. Publish to handler, one way, free of coordinated
// omission: a stall anywhere on the path (publisher, broker, subscriber)
// counts against every message it delays.
//
//	bus.oneway/IDLE  publisher -> router (child) -> this process's handler
//	nats.oneway      publisher -> nats-server (child) -> this process's handler

// BusOneWay measures one-way latency through the router. p.Idle
// ("backoff" by default) is every process's idle strategy.
func BusOneWay(p Params) (*Result, error) {
	if p.Idle == "" {
		p.Idle = "backoff"
	}
	return fanIn(oneWay(p), fmt.Sprintf("bus.oneway/%s", p.Idle), true)
}

// NATSOneWay measures one-way latency through a nats-server.
func NATSOneWay(p Params) (*Result, error) {
	return fanIn(oneWay(p), "nats.oneway", false)
}

func oneWay(p Params) Params {
	if p.Rate <= 0 {
		p.Rate = DefaultOneWayRate
	}
	p.Pubs = 1
	return p
}
