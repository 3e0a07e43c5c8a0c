package bench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	MaybeRunChild()
	os.Exit(m.Run())
}

// small returns n under -short and n*10 otherwise.
func small(n int) int {
	if testing.Short() {
		return n
	}
	return n * 10
}

func params(t *testing.T, n int) Params {
	return Params{N: small(n), Dir: t.TempDir()}
}

func checkLatency(t *testing.T, r *Result, err error, n int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.Lat == nil || r.Lat.Count != int64(n) {
		t.Fatalf("%s: latency %+v, want %d samples", r.Name, r.Lat, n)
	}
	if r.Lat.P50 <= 0 || r.Lat.P50 > r.Lat.P99 || r.Lat.P99 > r.Lat.Max {
		t.Fatalf("%s: percentiles out of order: %v", r.Name, r.Lat)
	}
	t.Logf("%s: %v", r.Name, r.Lat)
}

func TestProbe(t *testing.T) {
	p := params(t, 2000)
	r, err := Probe(p)
	checkLatency(t, r, err, p.N)
}

func TestProbeProcess(t *testing.T) {
	p := params(t, 2000)
	r, err := ProbeProcess(p)
	checkLatency(t, r, err, p.N)
}

func TestFutexBlock(t *testing.T) {
	p := params(t, 200)
	r, err := FutexBlock(p)
	checkLatency(t, r, err, p.N)
	if r.SyscallsPerOp < 1 {
		t.Errorf("blocking ping-pong made %.2f syscalls per round trip, want >= 1", r.SyscallsPerOp)
	}
}

func TestFutexSpinPark(t *testing.T) {
	p := params(t, 2000)
	r, err := FutexSpinPark(p)
	checkLatency(t, r, err, p.N)
	t.Logf("syscalls/msg %.3f", r.SyscallsPerOp)
}

func checkThroughput(t *testing.T, r *Result, err error, n int) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if r.Msgs != int64(n) || r.MsgsPerSec <= 0 || r.BytesPerSec <= 0 {
		t.Fatalf("%s: %d msgs (want %d), %.0f msgs/s, %.0f B/s", r.Name, r.Msgs, n, r.MsgsPerSec, r.BytesPerSec)
	}
	t.Logf("%s: %.2fM msgs/s %.2f GB/s", r.Name, r.MsgsPerSec/1e6, r.BytesPerSec/1e9)
}

func TestChanThroughput(t *testing.T) {
	for _, size := range []int{64, 1024} {
		p := params(t, 20000)
		p.Size = size
		r, err := ChanThroughput(p)
		checkThroughput(t, r, err, p.N)
	}
	if _, err := ChanThroughput(Params{N: 10, Size: 100}); err == nil {
		t.Error("size 100 accepted")
	}
}

func TestUDSThroughput(t *testing.T) {
	for _, size := range []int{64, 1000} { // 1000: messages straddle reads
		p := params(t, 20000)
		p.Size = size
		r, err := UDSThroughput(p)
		checkThroughput(t, r, err, p.N)
	}
}

func TestUDSPingPong(t *testing.T) {
	p := params(t, 200)
	r, err := UDSPingPong(p)
	checkLatency(t, r, err, p.N)
}

func TestRingPingPong(t *testing.T) {
	for _, idle := range []string{"spin", "backoff", "block"} {
		t.Run(idle, func(t *testing.T) {
			p := params(t, 2000)
			if idle == "block" {
				p.N = small(200)
			}
			p.Idle = idle
			r, err := RingPingPong(p)
			checkLatency(t, r, err, p.N)
			t.Logf("syscalls/round trip %.3f", r.SyscallsPerOp)
			if idle == "block" && r.SyscallsPerOp < 1 {
				t.Errorf("parked ping-pong made %.2f syscalls per round trip, want >= 1", r.SyscallsPerOp)
			}
		})
	}
}

func TestRingThroughput(t *testing.T) {
	for _, size := range []int{64, 1024, 1000} {
		p := params(t, 20000)
		p.Size = size
		r, err := RingThroughput(p)
		checkThroughput(t, r, err, p.N)
	}
}
