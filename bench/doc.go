// Package bench is shmbus's benchmark harness: the reference measurements
// (a cache line bounced between two CPUs, Go channels, raw futexes, Unix
// sockets) and the benchmarks of the product (shmbus rings between two
// processes), each measured in the same run so they can be compared.
//
// # How figures are taken
//
//   - Latency, as fast as possible (the default): a closed-loop ping-pong.
//     The initiator reads the timer once per round trip and records the
//     difference of successive reads, so every round trip is a sample and a
//     stall is a sample too. Samples go into an HdrHistogram (1 ns .. 10 s,
//     3 digits), reported as p50, p90, p99, p99.9, p99.99 and max, with the
//     whole percentile distribution (Result.Dist) for plotting.
//   - Latency at a fixed rate (Options.Rate, shmbus bench -rate N; the
//     one-way entries always): the i-th message is meant to go at
//     start + i/rate, and its sample runs from that intended time to its
//     completion (pace.go). A stall then counts against every message it
//     delays, not just the one caught in it: no coordinated omission, as
//     wrk2 measures. One-way samples are taken across processes on
//     CLOCK_MONOTONIC, the intended send time stamped in the message.
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
//	uds.tput/SIZE           Unix stream socket, 64 KiB batched writes, two processes;
//	                        SIZE 16, 64, 1024, 65536, 1048576 (the payload sweep)
//	tcp.tput/{64,1024}      the same over TCP on 127.0.0.1, vs uds.tput
//	uds.pingpong            Unix stream socket round trip, 64 B (paced with -rate)
//	tcp.pingpong            the same over TCP loopback, vs uds.pingpong (paced)
//	futex.block             FUTEX_WAIT/WAKE (shared) ping-pong: every message a wake-up
//	futex.spinpark          the same, spinning 20 us before parking
//	ring.pingpong/{spin,backoff,block}  two SPSC rings in one segment, 64 B, vs probe / futex.block
//	ring.tput/{64,1024}     one SPSC ring, batched commits, vs uds.tput and chan.tput
//	nats.reqrep             nats.go Request through a nats-server (loopback TCP), 64 B (paced)
//	nats.oneway             one publisher at a fixed rate -> nats-server -> subscriber, one-way
//	                        latency, 64 B (10k msgs/s unless -rate)
//	nats.pubsub/1toK        nats.go Publish to K = 1, 4, 16, 64 subscriber processes, 64 B
//	nats.pubsub/4to1        4 publisher processes to one subscriber, 64 B
//	nats.payload/SIZE       nats.pubsub/1to1 with SIZE 16 B .. 1 MiB
//	nats.topics/T           1 -> 1 over T = 1, 1k, 100k, 1M topics round robin, one
//	                        subscription on bench.t.>
//	nats.wildcards/K        1 -> 1, K = 1 .. 10k wildcard subscriptions bench.w.<i>.*, each
//	                        message matching one (topicPlan)
//	bus.reqrep/{2,3}proc/{spin,backoff,yield}  bus Request -> router -> echo -> router,
//	                        64 B; 2proc: router embedded in the requester; 3proc: its own
//	                        process; vs nats.reqrep and uds.pingpong (paced)
//	bus.oneway/{backoff,yield}  nats.oneway through the router, vs nats.oneway
//	bus.pubsub/1to{1,4}/{spin,backoff,yield}  bus Publish -> router process -> sinks (block
//	                        policy, nothing dropped), 64 B, vs nats.pubsub
//	bus.pubsub/1to{16,64}/backoff, bus.pubsub/4to1/backoff  the fan-out and fan-in
//	                        sweeps, vs nats.pubsub (1to64: not with -quick)
//	bus.payload/SIZE        bus.pubsub/1to1/backoff with SIZE 16 B .. 1 MiB (rings sized
//	                        to fit), vs nats.payload and uds.tput
//	bus.topics/T, bus.wildcards/K  as nats.topics and nats.wildcards, vs them and vs
//	                        the sweep's first point
//	bus.idle/{0,10,100,1000}  bus.pubsub/1to1 (backoff) with that many idle connections
//	                        attached to the router, vs bus.idle/0
//	bus.queue/{1,2,4}c      a queue: this process SendAsyncs N messages of 64 B (confirmed)
//	                        -> router -> K consumer processes (prefetch 256), each message
//	                        acked; acked msgs/s, every message checked acked exactly once,
//	                        vs nats.pubsub/1to1 and bus.pubsub/1to1/backoff
//	bus.queue/1c/{sync,ttl,filter}  bus.queue/1c with Send (a confirm round trip per
//	                        message), with a TTL on every message (nothing expires), with a
//	                        header and a consumer Filter that takes every message; vs
//	                        bus.queue/1c
//	bus.queue.prio/{empty,backlog}  one-way latency of priority-9 messages, send (a sender
//	                        child, paced at 1k msgs/s) to the consumer's handler (this
//	                        process, prefetch 1), through an empty queue and through one
//	                        holding 10,000 priority-0 messages, which the consumer keeps
//	                        taking and Nak-ing back (vs bus.queue.prio/empty)
//
// bus.* throughput results also carry the router process's CPU time per
// delivered message (Result.RouterNsPerMsg), from the mark, which the
// router acknowledges, to the last message seen (bus.queue: to the end of
// the run, right after the last ack was seen).
//
// # Output
//
// WriteTable prints the results as text, WritePlot draws them as an SVG
// (latency percentile curves on HdrHistogram's log scale, throughput bars
// with ratios), WriteMarkdown writes markdown tables, and ReplaceSection
// puts those between the <!-- bench:begin --> and <!-- bench:end --> lines
// of a document, leaving the rest alone (docs/benchmarks.md, make
// bench-docs). Groups decides which results share a panel or a table.
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
// every child write a CPU profile: what limits a multi-process figure;
// SHMBUS_BENCH_MEMPROFILE=dir (-memprofile dir) for allocation profiles.
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
