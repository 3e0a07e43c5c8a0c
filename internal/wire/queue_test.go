package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestQueueFramesRoundTrip(t *testing.T) {
	ctl := Ctl{Token: 7, Op: CtlDeclare, Code: CodeQueueConflict, Body: []byte(`{"name":"jobs"}`)}
	cb := make([]byte, ctl.Size())
	ctl.Encode(cb)
	var c2 Ctl
	if err := DecodeCtl(cb, &c2); err != nil || !reflect.DeepEqual(ctl, c2) {
		t.Fatalf("ctl round trip: %+v, %v", c2, err)
	}
	if err := DecodeCtl(cb[:CtlFixed-1], &c2); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short ctl: %v", err)
	}

	con := Consume{SID: 9, Prefetch: 32, Queue: []byte("jobs.eu"), Selector: []byte("amount > 100")}
	ob := make([]byte, con.Size())
	con.Encode(ob)
	var o2 Consume
	if err := DecodeConsume(ob, &o2); err != nil || !reflect.DeepEqual(con, o2) {
		t.Fatalf("consume round trip: %+v, %v", o2, err)
	}
	for name, b := range map[string][]byte{
		"short":       ob[:ConsumeFixed-1],
		"truncated":   ob[:len(ob)-1],
		"trailing":    append(bytes.Clone(ob), 'x'),
		"empty queue": func() []byte { b := bytes.Clone(ob); le.PutUint16(b[offConQueueLen:], 0); return b }(),
		"prefetch":    func() []byte { b := bytes.Clone(ob); le.PutUint32(b[offConPrefetch:], MaxPrefetch+1); return b }(),
	} {
		if err := DecodeConsume(b, &o2); !errors.Is(err, ErrBadFrame) {
			t.Errorf("consume %s: %v, want ErrBadFrame", name, err)
		}
	}

	st := Settle{SID: 9, ID: 1<<40 | 5, Op: SettleNak, Delay: 1e9}
	sb := make([]byte, SettleSize)
	st.Encode(sb)
	var s2 Settle
	if err := DecodeSettle(sb, &s2); err != nil || s2 != st {
		t.Fatalf("settle round trip: %+v, %v", s2, err)
	}
	for name, b := range map[string][]byte{
		"short":   sb[:SettleSize-1],
		"op 0":    func() []byte { b := bytes.Clone(sb); b[offSetOp] = 0; return b }(),
		"op high": func() []byte { b := bytes.Clone(sb); b[offSetOp] = SettleInProgress + 1; return b }(),
	} {
		if err := DecodeSettle(b, &s2); !errors.Is(err, ErrBadFrame) {
			t.Errorf("settle %s: %v, want ErrBadFrame", name, err)
		}
	}

	cf := Confirm{ID: 42, Code: CodeQueueFull, Text: []byte("queue jobs full")}
	fb := make([]byte, cf.Size())
	cf.Encode(fb)
	var f2 Confirm
	if err := DecodeConfirm(fb, &f2); err != nil || !reflect.DeepEqual(cf, f2) {
		t.Fatalf("confirm round trip: %+v, %v", f2, err)
	}
	if err := DecodeConfirm(fb[:ConfirmFixed-1], &f2); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short confirm: %v", err)
	}
}

func TestMsgDeliveryFields(t *testing.T) {
	m := Msg{ID: 1, Topic: []byte("jobs"), Data: []byte("x")}
	b := make([]byte, m.Size())
	m.Encode(b)
	SetDelivery(b, 77, FlagQueued, 3)
	var d Msg
	if err := DecodeMsg(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.SID != 77 || d.Flags != FlagQueued || d.Deliveries != 3 || string(d.Topic) != "jobs" || string(d.Data) != "x" {
		t.Fatalf("after SetDelivery: %+v", d)
	}
}
