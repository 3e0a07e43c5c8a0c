package bus

import (
	"errors"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
)

func errFrame(code uint32, sid uint64, text string) []byte {
	e := wire.ErrFrame{Code: code, SID: sid, Text: []byte(text)}
	b := make([]byte, e.Size())
	e.Encode(b)
	return b
}

// The router's asynchronous errors reach the error handler and the
// counters.
func TestRouterErrors(t *testing.T) {
	dir := t.TempDir()
	f := startFake(t, dir)
	var errs errLog
	c := connect(t, dir, WithErrorHandler(errs.handler))
	s, _ := c.Subscribe("a", func(*Msg) {})
	c.Flush()

	f.inject(wire.TypeErr, errFrame(wire.CodeSlowConsumer, s.SID(), "7 messages dropped"))
	waitFor(t, "slow consumer report", func() bool { return len(errs.all()) == 1 })
	if err := errs.all()[0]; !errors.Is(err, ErrSlowConsumer) || s.Dropped() != 7 || c.Stats().Dropped != 7 {
		t.Fatalf("%v; sub dropped %d, stats %+v", err, s.Dropped(), c.Stats())
	}

	f.inject(wire.TypeErr, errFrame(wire.CodeBadRecord, 0, "nope"))
	waitFor(t, "bad record report", func() bool { return len(errs.all()) == 2 })
	if err := errs.all()[1]; !errors.Is(err, ErrRejected) {
		t.Fatal(err)
	}

	f.inject(wire.TypeErr, errFrame(wire.CodeBadSub, 999, "unknown sid")) // ignored
	f.inject(wire.TypeErr, errFrame(wire.CodeBadSub, s.SID(), "refused"))
	waitFor(t, "bad subscription report", func() bool { return len(errs.all()) == 3 })
	if err := errs.all()[2]; !errors.Is(err, ErrBadSubscription) || s.IsValid() {
		t.Fatalf("%v, valid %v", err, s.IsValid())
	}

	f.inject(200, []byte("?")) // unknown record type
	waitFor(t, "unknown record report", func() bool { return len(errs.all()) == 4 })
	if err := errs.all()[3]; !errors.Is(err, ErrRejected) {
		t.Fatal(err)
	}
	f.inject(wire.TypeMsg, []byte("garbage"))
	waitFor(t, "bad frame report", func() bool { return len(errs.all()) == 5 })
	if err := errs.all()[4]; !errors.Is(err, wire.ErrBadFrame) {
		t.Fatal(err)
	}
	if !c.IsConnected() {
		t.Fatal("a bad record closed the connection")
	}
}
