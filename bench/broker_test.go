package bench

import (
	"fmt"
	"testing"
)

// The broker benchmarks (NATS references, the bus through the router)
// with tiny counts: every process starts, every message is checked, the
// result is well formed. Timing is never asserted.

// brokerParams is params without t.TempDir: the router's Unix socket lives
// in the bus directory, and a socket path must stay under 108 bytes, which
// a long test name in $TMPDIR can break. The benchmark makes (and removes)
// a unique directory of its own, on /dev/shm when there is one.
func brokerParams(n int) Params { return Params{N: small(n)} }

func checkDelivered(t *testing.T, r *Result, err error, want int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.Msgs != int64(want) || r.MsgsPerSec <= 0 || r.Size != 64 {
		t.Fatalf("%s: %d msgs of %d B (want %d of 64), %.0f msgs/s", r.Name, r.Msgs, r.Size, want, r.MsgsPerSec)
	}
	t.Logf("%s: %.2fM msgs/s, %.3f futex calls/msg", r.Name, r.MsgsPerSec/1e6, r.SyscallsPerOp)
}

func TestNATSReqRep(t *testing.T) {
	p := brokerParams(200)
	r, err := NATSReqRep(p)
	checkLatency(t, r, err, p.N)
}

func TestNATSPubSub(t *testing.T) {
	for _, k := range []int{1, 4} {
		t.Run(fmt.Sprintf("subs=%d", k), func(t *testing.T) {
			p := brokerParams(2000)
			p.Subs = k
			r, err := NATSPubSub(p)
			checkDelivered(t, r, err, p.N*k)
		})
	}
}

func TestBusReqRep(t *testing.T) {
	for _, procs := range []int{2, 3} {
		for _, idle := range []string{"spin", "backoff", "yield"} {
			t.Run(fmt.Sprintf("procs=%d/idle=%s", procs, idle), func(t *testing.T) {
				p := brokerParams(200)
				if idle == "spin" {
					p.N = small(20) // more spinners than CPUs: round trips of milliseconds
				}
				p.Procs, p.Idle = procs, idle
				r, err := BusReqRep(p)
				checkLatency(t, r, err, p.N)
				if r.SyscallsPerOp < 0 {
					t.Errorf("futex calls not counted")
				}
			})
		}
	}
	if _, err := BusReqRep(Params{N: 1, Procs: 4}); err == nil {
		t.Error("4 processes accepted")
	}
}

func TestBusPubSub(t *testing.T) {
	for _, k := range []int{1, 4} {
		for _, idle := range []string{"spin", "backoff"} {
			t.Run(fmt.Sprintf("subs=%d/idle=%s", k, idle), func(t *testing.T) {
				p := brokerParams(2000)
				p.Subs, p.Idle = k, idle
				r, err := BusPubSub(p)
				checkDelivered(t, r, err, p.N*k)
				if want := fmt.Sprintf("bus.pubsub/1to%d/%s", k, idle); r.Name != want {
					t.Errorf("name %q, want %q", r.Name, want)
				}
			})
		}
	}
}

func TestBusIdle(t *testing.T) {
	for _, conns := range []int{0, 10} {
		p := brokerParams(2000)
		p.Conns = conns
		r, err := BusIdle(p)
		checkDelivered(t, r, err, p.N)
		if want := fmt.Sprintf("bus.idle/%d", conns); r.Name != want {
			t.Errorf("name %q, want %q", r.Name, want)
		}
	}
}
