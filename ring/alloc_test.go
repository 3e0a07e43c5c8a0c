package ring

import (
	"testing"
	"unsafe"

	"github.com/shmbus/shmbus/ipc"
)

type ipcProcess = ipc.Process

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// The hot paths allocate nothing.
func TestHotPathsDoNotAllocate(t *testing.T) {
	p, c := pair(t, newSPSC(t, 64*MinCapacity))
	payload := make([]byte, 64)
	var sink int
	h := func(_, _ uint16, pl []byte) { sink += len(pl) }
	if a := testing.AllocsPerRun(1000, func() {
		buf, _ := p.Claim(1, 64)
		copy(buf, payload)
		p.CommitDeferred()
		p.Write(1, payload)
		p.Flush()
		c.Read(h, 0)
		_ = c.Ready()
	}); a != 0 {
		t.Errorf("SPSC claim/commit/read: %v allocs per run", a)
	}
	b := newMPMC(t, 64, 64)
	mp, _ := NewMPMCProducer(b)
	mc, _ := NewMPMCConsumer(b)
	if a := testing.AllocsPerRun(1000, func() {
		mp.Write(1, payload)
		mc.Read(h, 0)
	}); a != 0 {
		t.Errorf("MPMC write/read: %v allocs per run", a)
	}
	idle := &ipc.Backoff{}
	if a := testing.AllocsPerRun(1000, func() { idle.Idle(c); idle.Reset() }); a != 0 {
		t.Errorf("idle: %v allocs per run", a)
	}
}
