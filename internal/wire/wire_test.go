package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func TestMsgRoundTrip(t *testing.T) {
	hdr := AppendHeaders(nil, map[string][]string{"k": {"v1", "v2"}, "region": {"eu"}})
	in := Msg{ID: 1<<40 | 7, PubTime: 123, Deadline: 456, SID: 9, Priority: 7, Flags: 1,
		Topic: []byte("orders.eu.created"), Reply: []byte("_INBOX.x"), Headers: hdr, Data: []byte("payload")}
	buf := make([]byte, in.Size())
	in.Encode(buf)
	var out Msg
	if err := DecodeMsg(buf, &out); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip:\n in %+v\nout %+v", in, out)
	}
	h, err := DecodeHeaders(out.Headers)
	if err != nil || !reflect.DeepEqual(h, map[string][]string{"k": {"v1", "v2"}, "region": {"eu"}}) {
		t.Fatalf("headers %v, %v", h, err)
	}
	SetSID(buf, 42)
	if DecodeMsg(buf, &out); out.SID != 42 {
		t.Fatalf("SetSID: sid %d", out.SID)
	}
}

func TestMsgEncodeDecodeDoNotAllocate(t *testing.T) {
	in := Msg{Topic: []byte("a.b"), Data: make([]byte, 64)}
	buf := make([]byte, in.Size())
	var out Msg
	if a := testing.AllocsPerRun(100, func() {
		in.Encode(buf)
		if err := DecodeMsg(buf, &out); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func TestDecodeMsgErrors(t *testing.T) {
	good := Msg{Topic: []byte("a"), Data: []byte("x")}
	buf := make([]byte, good.Size())
	good.Encode(buf)
	cases := map[string]func([]byte) []byte{
		"short":         func(b []byte) []byte { return b[:MsgFixed-1] },
		"no topic":      func(b []byte) []byte { le.PutUint16(b[offTopicLen:], 0); return b },
		"topic overrun": func(b []byte) []byte { le.PutUint16(b[offTopicLen:], 200); return b },
		"priority":      func(b []byte) []byte { b[offPrio] = 10; return b },
		"bad headers":   func(b []byte) []byte { le.PutUint32(b[offHdrLen:], 1); return b },
	}
	for name, mut := range cases {
		b := mut(bytes.Clone(buf))
		var m Msg
		if err := DecodeMsg(b, &m); !errors.Is(err, ErrBadFrame) {
			t.Errorf("%s: %v, want ErrBadFrame", name, err)
		}
	}
}

func TestSubAndControlFrames(t *testing.T) {
	in := Sub{SID: 3, BlockTimeout: 5e6, Policy: PolicyBlock, Pattern: []byte("a.*"), Group: []byte("workers"), Selector: []byte(`region == "eu"`)}
	buf := make([]byte, in.Size())
	in.Encode(buf)
	var out Sub
	if err := DecodeSub(buf, &out); err != nil || !reflect.DeepEqual(in, out) {
		t.Fatalf("sub round trip: %+v, %v", out, err)
	}
	if err := DecodeSub(buf[:SubFixed+3+5], &out); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("sub truncated in its group: %v", err)
	}
	long := Sub{SID: 1, Pattern: []byte("a"), Selector: make([]byte, MaxSelectorLen+1)}
	lb := make([]byte, long.Size())
	long.Encode(lb)
	if err := DecodeSub(lb, &out); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("sub with a %d-byte selector: %v", MaxSelectorLen+1, err)
	}
	e := ErrFrame{Code: CodeSlowConsumer, SID: 3, Text: []byte("dropped 5")}
	eb := make([]byte, e.Size())
	e.Encode(eb)
	var eo ErrFrame
	if err := DecodeErr(eb, &eo); err != nil || !reflect.DeepEqual(e, eo) {
		t.Fatalf("err round trip: %+v, %v", eo, err)
	}
	if _, err := DecodeU64(make([]byte, 7)); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("short u64: %v", err)
	}
}

// FuzzDecode feeds arbitrary records to every decoder: none may panic, and
// a message that decodes must re-encode to the same bytes.
func FuzzDecode(f *testing.F) {
	m := Msg{Topic: []byte("a.b"), Reply: []byte("r"), Headers: AppendHeaders(nil, map[string][]string{"k": {"v"}}), Data: []byte("d")}
	b := make([]byte, m.Size())
	m.Encode(b)
	f.Add(b)
	s := Sub{SID: 1, Pattern: []byte("a.>"), Group: []byte("g")}
	sb := make([]byte, s.Size())
	s.Encode(sb)
	f.Add(sb)
	con := Consume{SID: 2, Prefetch: 8, Queue: []byte("jobs"), Selector: []byte("a > 1")}
	conb := make([]byte, con.Size())
	con.Encode(conb)
	f.Add(conb)
	st := Settle{SID: 2, ID: 3, Op: SettleAck}
	stb := make([]byte, SettleSize)
	st.Encode(stb)
	f.Add(stb)
	ctl := Ctl{Token: 1, Op: CtlDeclare, Body: []byte(`{"name":"q"}`)}
	ctlb := make([]byte, ctl.Size())
	ctl.Encode(ctlb)
	f.Add(ctlb)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Msg
		if DecodeMsg(b, &m) == nil {
			out := make([]byte, m.Size())
			m.Encode(out)
			if m.Size() != len(b) || !bytes.Equal(out[MsgFixed:], b[MsgFixed:]) {
				t.Fatalf("re-encode differs")
			}
			DecodeHeaders(m.Headers)
		}
		var s Sub
		_ = DecodeSub(b, &s)
		var e ErrFrame
		_ = DecodeErr(b, &e)
		_, _ = DecodeU64(b)
		var c Consume
		if DecodeConsume(b, &c) == nil {
			out := make([]byte, c.Size())
			c.Encode(out)
			if !bytes.Equal(out, b) {
				t.Fatalf("consume re-encode differs")
			}
		}
		var st Settle
		_ = DecodeSettle(b, &st)
		var ctl Ctl
		if DecodeCtl(b, &ctl) == nil {
			var d QueueDeclare
			_ = UnmarshalCtlBody(ctl.Op, ctl.Body, &d)
		}
		var cf Confirm
		_ = DecodeConfirm(b, &cf)
	})
}
