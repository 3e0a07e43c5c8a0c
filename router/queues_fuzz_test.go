package router

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

// FuzzQueueRecords drives a loop by hand through a sequence of queue
// records decoded from the input: sends, publishes to a bound topic,
// settles of every kind (also of messages not held), consumers coming and
// going, queue requests (declare, delete, bind, purge, ...) and raw garbage
// of the queue record types, with dead letters to a queue or to a topic
// bound back to the queue (a cycle). After each record the loop's queue
// work runs and every ring is read: the router must not panic, every
// frame it writes must decode, and no message may be delivered to the
// consumer again while it holds it.
func FuzzQueueRecords(f *testing.F) {
	f.Add([]byte{0, 1, 0, 3, 0, 5, 2, 0, 2, 1, 1, 0, 2, 2})
	f.Add([]byte{9, 2, 0, 0, 0, 9, 0, 9, 2, 2, 2, 3, 3, 0, 0, 1, 5, 4, 5, 1})
	f.Add([]byte{0x41, 0x13, 0, 0x30, 1, 0, 2, 7, 4, 5, 4, 6, 4, 7, 4, 8, 6, 0, 5, 2, 0, 1})
	f.Add([]byte{0x8a, 0x20, 0, 16, 0, 16, 2, 2, 2, 2, 5, 0, 0, 1, 7, 0, 3, 1, 0, 2})
	n := 0
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 || len(data) > 400 {
			return
		}
		n++
		dir := t.TempDir()
		r := &Router{cfg: Config{Dir: dir, Logger: testLogger(t)}, inUse: map[uint64]bool{}}
		r.cfg.fill()
		l := newLoop(r)
		defer l.qs.close()
		a, aRing := loopClient(t, l, dir, fmt.Sprintf("a-%d", n), 1)
		b, bRing := loopClient(t, l, dir, fmt.Sprintf("b-%d", n), 2)
		_, wRing := loopClient(t, l, dir, fmt.Sprintf("w-%d", n), 3, wire.SubSpec{SID: 1, Pattern: ">"})

		inFlight := map[uint64]bool{} // delivered to b's consumer, not settled
		var delivered []uint64
		read := func() {
			aRing.Read(func(typ, _ uint16, p []byte) { checkFrame(t, "a", typ, p) }, 0)
			wRing.Read(func(typ, _ uint16, p []byte) { checkFrame(t, "w", typ, p) }, 0)
			bRing.Read(func(typ, _ uint16, p []byte) {
				checkFrame(t, "b", typ, p)
				var m wire.Msg
				if typ != wire.TypeMsg || wire.DecodeMsg(p, &m) != nil || m.Flags&wire.FlagQueued == 0 {
					return
				}
				if m.SID != 1 || m.Deliveries == 0 {
					t.Fatalf("delivery %+v", m)
				}
				if inFlight[m.ID] {
					t.Fatalf("message %d delivered again while its consumer holds it", m.ID)
				}
				inFlight[m.ID] = true
				delivered = append(delivered, m.ID)
			}, 0)
		}
		do := func(c *client, typ uint16, p []byte) {
			for try := 0; !l.onRecord(c, typ, p); try++ {
				if try > 5000 {
					t.Fatalf("record type %d held for good", typ)
				}
				l.queueWork()
				read()
				if try > 10 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			l.queueWork()
			l.flush()
			read()
		}
		ctl := func(c *client, op uint16, body any) {
			raw, _ := json.Marshal(body)
			req := wire.Ctl{Token: 1, Op: op, Body: raw}
			f := make([]byte, req.Size())
			req.Encode(f)
			do(c, wire.TypeCtl, f)
		}
		cfg0, cfg1 := data[0], data[1]
		qcfg := wire.QueueConfig{MaxMsgs: 1 + int(cfg0%8), MaxDeliveries: int(cfg0>>3) % 3,
			Overflow: []string{"reject", "drop-oldest", "block", "reject"}[cfg0>>5%4]}
		if qcfg.Overflow == "block" {
			qcfg.BlockTimeout = time.Millisecond
		}
		switch cfg1 % 3 {
		case 1:
			qcfg.DeadLetter = "queue:dlq"
		case 2:
			qcfg.DeadLetter = "topic:dead.q"
		}
		ctl(a, wire.CtlDeclare, wire.QueueDeclare{Name: "dlq", Config: wire.QueueConfig{MaxMsgs: 4}})
		ctl(a, wire.CtlDeclare, wire.QueueDeclare{Name: "q", Config: qcfg})
		ctl(a, wire.CtlBind, wire.QueueBinding{Name: "q", Pattern: "pub.>"})
		if cfg1&4 != 0 {
			ctl(a, wire.CtlBind, wire.QueueBinding{Name: "q", Pattern: "dead.q"}) // a dead-letter cycle
		}
		sel := ""
		if cfg1&8 != 0 {
			sel = `k == "v"`
		}
		consume := func() {
			cm := wire.Consume{SID: 1, Prefetch: 1 + uint32(cfg1>>4%4), Queue: []byte("q"), Selector: []byte(sel)}
			f := make([]byte, cm.Size())
			cm.Encode(f)
			do(b, wire.TypeConsume, f)
		}
		consume()
		consuming := true
		var seq uint64
		ops := data[2:]
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%8, ops[i+1]
			switch op {
			case 0, 1: // a sends to q, or publishes to a bound topic
				seq++
				m := wire.Msg{ID: seq, Priority: arg % 10, Topic: []byte("q"), Data: []byte{arg}}
				if op == 1 {
					m.Topic = []byte("pub.x")
				}
				if arg&16 != 0 {
					m.Headers = wire.AppendHeaders(nil, map[string][]string{"k": {"v"}})
				}
				if arg&32 != 0 {
					m.Deadline = uint64(ipc.MonotonicNanos()) + uint64(arg&3)*uint64(time.Millisecond)
				}
				f := make([]byte, m.Size())
				m.Encode(f)
				if op == 0 {
					do(a, wire.TypeSend, f)
				} else {
					do(a, wire.TypePub, f)
				}
			case 2: // b settles one it was delivered (held or not any more)
				if len(delivered) == 0 {
					continue
				}
				id := delivered[int(arg)%len(delivered)]
				s := wire.Settle{SID: 1, ID: id, Op: arg%4 + 1, Delay: uint64(arg>>6) * uint64(time.Millisecond)}
				if s.Op != wire.SettleInProgress && inFlight[id] {
					delete(inFlight, id) // settled; it may come again (nak)
				}
				f := make([]byte, wire.SettleSize)
				s.Encode(f)
				do(b, wire.TypeSettle, f)
			case 3: // b's consumer stops (its messages come back) or starts
				if consuming {
					var u [8]byte
					wire.PutU64(u[:], 1)
					do(b, wire.TypeUnsub, u[:])
					clear(inFlight)
				} else {
					consume()
				}
				consuming = !consuming
			case 4: // garbage of a queue record type
				end := min(i+2+int(arg%24), len(ops))
				do(a, wire.TypeCtl+uint16(arg%4), ops[i+2:end])
			case 5: // a queue request
				name := []string{"q", "dlq", "nope"}[arg%3]
				switch o := uint16(arg>>2%7) + 1; o {
				case wire.CtlDeclare:
					ctl(a, o, wire.QueueDeclare{Name: name, Config: qcfg})
				case wire.CtlBind, wire.CtlUnbind:
					ctl(a, o, wire.QueueBinding{Name: name, Pattern: "pub.>"})
				case wire.CtlDelete:
					if name == "q" {
						clear(inFlight)
						consuming = false
					}
					ctl(a, o, wire.QueueRef{Name: name})
				default:
					ctl(a, o, wire.QueueRef{Name: name})
				}
			case 6: // timers
				l.qs.fired.Store(true)
				l.queueWork()
				read()
			case 7: // b settles something it was never given
				s := wire.Settle{SID: uint64(arg % 3), ID: uint64(arg) << 20, Op: arg%4 + 1}
				f := make([]byte, wire.SettleSize)
				s.Encode(f)
				do(b, wire.TypeSettle, f)
			}
		}
	})
}

// checkFrame fails t unless the frame the router wrote decodes.
func checkFrame(t *testing.T, who string, typ uint16, p []byte) {
	var err error
	switch typ {
	case wire.TypeMsg, wire.TypeStatus:
		var m wire.Msg
		err = wire.DecodeMsg(p, &m)
	case wire.TypeErr:
		var e wire.ErrFrame
		err = wire.DecodeErr(p, &e)
	case wire.TypeConfirm:
		var c wire.Confirm
		err = wire.DecodeConfirm(p, &c)
	case wire.TypeCtlReply:
		var c wire.Ctl
		if err = wire.DecodeCtl(p, &c); err == nil && c.Code == 0 && !json.Valid(c.Body) {
			err = fmt.Errorf("reply body %q is not JSON", c.Body)
		}
	case wire.TypePong:
	default:
		err = fmt.Errorf("record type %d", typ)
	}
	if err != nil {
		t.Fatalf("%s got a bad frame of type %d: %v", who, typ, err)
	}
}
