//go:build !amd64

package ipc

// cpuRelax is a short empty loop where we have no PAUSE-like instruction
// in assembly. The compiler keeps loops with a variable bound.
func cpuRelax() {
	for i := 0; i < relaxSpins; i++ {
	}
}

var relaxSpins = 8
