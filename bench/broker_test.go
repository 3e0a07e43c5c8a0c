package bench

import (
	"fmt"
	"strings"
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

// TestFanOut64 runs the full-only entries, the 64-subscriber fan-outs,
// with a tiny count (TestRun leaves them out).
func TestFanOut64(t *testing.T) {
	for _, run := range []func(Params) (*Result, error){NATSPubSub, BusPubSub} {
		p := brokerParams(20)
		p.Subs, p.Idle = 64, "backoff"
		r, err := run(p)
		checkDelivered(t, r, err, p.N*64)
	}
}

func TestFanIn(t *testing.T) {
	for _, run := range []func(Params) (*Result, error){NATSFanIn, BusFanIn} {
		p := brokerParams(500)
		p.Pubs = 3
		r, err := run(p)
		checkDelivered(t, r, err, p.N*3)
		if !strings.Contains(r.Name, "3to1") {
			t.Errorf("name %q, want 3to1", r.Name)
		}
	}
	if _, err := BusFanIn(Params{N: 10, Size: 16}); err == nil {
		t.Error("16-byte messages accepted: no room for the stamp")
	}
}

func TestOneWay(t *testing.T) {
	for _, run := range []func(Params) (*Result, error){NATSOneWay, BusOneWay} {
		p := brokerParams(100)
		p.Rate = 5000
		r, err := run(p)
		checkLatency(t, r, err, p.N)
		if r.Rate != 5000 || r.Size != 64 {
			t.Errorf("%s: rate %d, size %d", r.Name, r.Rate, r.Size)
		}
	}
}

// TestSweeps runs one point of each sweep beyond what TestRun's tiny
// counts reach: 1 MiB payloads (the rings and the server's limit must
// take them), more messages than topics, wildcard subscriptions that
// each see a share (checked per subscription). bus.idle/1000 is
// TestRun's.
func TestSweeps(t *testing.T) {
	for _, c := range []struct {
		run  func(Params) (*Result, error)
		p    Params
		name string
	}{
		{NATSPayload, Params{N: 20, Size: 1 << 20}, "nats.payload/1048576"},
		{BusPayload, Params{N: 20, Size: 1 << 20}, "bus.payload/1048576"},
		{UDSThroughput, Params{N: 20, Size: 1 << 20}, "uds.tput/1048576"},
		{NATSTopics, Params{N: 3000, Topics: 1000}, "nats.topics/1000"},
		{BusTopics, Params{N: 3000, Topics: 1000}, "bus.topics/1000"},
		{NATSWildcards, Params{N: 3000, Wild: 1000}, "nats.wildcards/1000"},
		{BusWildcards, Params{N: 3000, Wild: 1000}, "bus.wildcards/1000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := c.run(c.p)
			if err != nil {
				t.Fatal(err)
			}
			if r.Name != c.name || r.Msgs != int64(c.p.N) || r.MsgsPerSec <= 0 || r.Size != c.p.size(64) {
				t.Fatalf("%+v", r)
			}
			if strings.HasPrefix(r.Name, "bus.") && r.RouterNsPerMsg <= 0 {
				t.Errorf("router CPU time not measured")
			}
		})
	}
}

func TestTCP(t *testing.T) {
	p := params(t, 200)
	r, err := TCPPingPong(p)
	checkLatency(t, r, err, p.N)
	for _, size := range []int{64, 1000} {
		p := params(t, 20000)
		p.Size = size
		r, err := TCPThroughput(p)
		checkThroughput(t, r, err, p.N)
		if want := fmt.Sprintf("tcp.tput/%d", size); r.Name != want {
			t.Errorf("name %q, want %q", r.Name, want)
		}
	}
}
