// Package bench is shmbus's benchmark harness: the reference measurements
// (a cache line bounced between two CPUs, Go channels, raw futexes, Unix
// sockets) and the benchmarks of the product (shmbus rings between two
// processes), each measured in the same run so they can be compared.
//
// # How figures are taken
//
//   - Latency is a closed-loop ping-pong: the initiator reads the timer once
//     per round trip and records the difference of successive reads, so every
//     round trip is a sample and a stall is a sample too (no coordinated
//     omission). Samples go into an HdrHistogram (1 ns .. 10 s, 3 digits).
//   - Every result is bracketed by the cache-line probe measured just before
//     and just after it. On a VM the two vCPUs are sometimes placed far apart
//     for seconds; the probe says whether the result was taken "near" (probe
//     p50 < 150 ns) or "far", and the ratio to the probe is what to compare.
//   - Throughput is one-way: the producer times from its first write until
//     the consumer says it has seen (and checked) the last message.
//
// # What runs (Suite), references first
//
//	probe, probe.proc       cache line bounced between two pinned threads / processes
//	chan.tput/{64,1024}     Go buffered channel (cap 4096) of array values, one process
//	uds.tput/{64,1024}      Unix stream socket, 64 KiB batched writes, two processes
//	uds.pingpong            Unix stream socket round trip, 64 B
//	futex.block             FUTEX_WAIT/WAKE (shared) ping-pong: every message a wake-up
//	futex.spinpark          the same, spinning 20 us before parking
//	ring.pingpong/{spin,backoff,block}  two SPSC rings in one segment, 64 B, vs probe / futex.block
//	ring.tput/{64,1024}     one SPSC ring, batched commits, vs uds.tput and chan.tput
//	nats.reqrep             nats.go Request through a nats-server (loopback TCP), 64 B
//	nats.pubsub/1to{1,4}    nats.go Publish to 1 or 4 subscriber processes, 64 B
//	bus.reqrep/{2,3}proc/{spin,backoff,yield}  bus Request -> router -> echo -> router,
//	                        64 B; 2proc: router embedded in the requester; 3proc: its own
//	                        process; vs nats.reqrep and uds.pingpong
//	bus.pubsub/1to{1,4}/{spin,backoff,yield}  bus Publish -> router process -> sinks (block
//	                        policy, nothing dropped), 64 B, vs nats.pubsub
//	bus.idle/{0,10,100}     bus.pubsub/1to1 (backoff) with that many idle connections
//	                        attached to the router, vs bus.idle/0
//
// Fairness: every throughput sender copies the payload once per message
// (into the channel, the batch buffer, the ring) and stamps a sequence
// number; every receiver checks every sequence number and brings the whole
// payload into its cache (the channel and the socket by copying it out, the
// ring by reading it in place, which is how the ring is meant to be used).
//
// # Brokers (NATS, the bus)
//
// A broker benchmark is a crew of processes (crew.go): the broker (a
// nats-server, or a shmbus router) in a child of its own, every subscriber
// or responder in another, the publisher or requester in this process.
// They are not pinned: there are more processes than the two CPUs the
// other benchmarks use, so the scheduler places them (on a 2-vCPU host a
// busy-spinning router, publisher and subscriber are three spinners on two
// cores). Children say they are ready, and servers learn when to stop,
// through files in the run's temporary directory; only the measured
// traffic goes through the broker. Every subscriber checks the size and
// sequence number of every message; a gap, a slow-consumer report or a
// lost connection fails the run. The idle strategy named in a bus entry
// is that of every client and of the router's loop.
//
// Set SHMBUS_BENCH_CPUPROFILE=dir (shmbus bench -cpuprofile dir) to have
// every child write a CPU profile: what limits a multi-process figure.
//
// # Processes
//
// Cross-process benchmarks re-execute the running binary (os.Executable) as
// a child with the environment variable SHMBUS_BENCH_CHILD=<role>. Every
// main (and TestMain of packages whose tests start children) must call
// MaybeRunChild first. Children are pinned to CPU 1, the parent to CPU 0;
// children are bounded by a message count and a deadline, are killed by PID
// when overdue, and die with their parent (PR_SET_PDEATHSIG). Shared files
// live in a temporary directory that is removed afterwards.
//
//	parent (CPU 0)                         child (CPU 1)
//	  mmap tmp/seg  ───── MAP_SHARED ─────  mmap tmp/seg
//	  ping ──────────────────────────────▶  pong
//	  ◀──────────────────────────────────── (report: JSON on stdout)
package bench
