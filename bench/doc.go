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
