package bus

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/shmbus/shmbus/internal/wire"
)

func TestHeaderMethods(t *testing.T) {
	h := Header{}
	h.Add("k", "1")
	h.Add("k", "2")
	h.Set("s", "x")
	if h.Get("k") != "1" || !slices.Equal(h.Values("k"), []string{"1", "2"}) || h.Get("s") != "x" {
		t.Fatalf("%v", h)
	}
	h.Del("k")
	if h.Get("k") != "" || len(h) != 1 {
		t.Fatalf("after Del: %v", h)
	}
	var nilHeader Header
	if nilHeader.Get("x") != "" || nilHeader.Values("x") != nil {
		t.Fatal("nil header")
	}
}

// headerSize must agree with the encoder it sizes for.
func TestHeaderSizeMatchesWire(t *testing.T) {
	for _, h := range []Header{
		{},
		{"k": nil},
		{"k": {""}},
		{"k": {"v"}},
		{"Trace-Id": {"abc", "def"}, "x": {"1"}, "empty": {}},
	} {
		n, err := headerSize(h)
		if err != nil || n != len(wire.AppendHeaders(nil, h)) {
			t.Fatalf("%v: size %d (%v), encoder writes %d", h, n, err, len(wire.AppendHeaders(nil, h)))
		}
	}
	if _, err := headerSize(Header{"": {"v"}}); !errors.Is(err, ErrInvalidOption) {
		t.Fatalf("empty key: %v", err)
	}
	if _, err := headerSize(Header{"k": {string(make([]byte, wire.MaxHeaderLen))}}); !errors.Is(err, ErrMaxPayload) {
		t.Fatalf("huge header: %v", err)
	}
}

func TestMsgCopyOwnsItsData(t *testing.T) {
	data := []byte("abc")
	m := &Msg{Topic: "t", Reply: "r", Header: Header{"k": {"v"}}, Data: data, ID: 7, PubTime: 9}
	c := m.Copy()
	data[0] = 'X'
	m.Header["k"][0] = "changed"
	if string(c.Data) != "abc" || c.Header.Get("k") != "v" || c.Topic != "t" || c.Reply != "r" || c.ID != 7 || c.PubTime != 9 {
		t.Fatalf("copy %+v", c)
	}
	if !maps.EqualFunc(c.Header, Header{"k": {"v"}}, slices.Equal) {
		t.Fatal(c.Header)
	}
}

func TestReplyToken(t *testing.T) {
	for topic, want := range map[string]uint64{"_INBOX.3.0": 0, "_INBOX.3.42": 42, "_INBOX.3.18446744073709551615": 0} {
		got, ok := replyToken([]byte(topic), "_INBOX.3")
		if want != 0 && (!ok || got != want) {
			t.Errorf("%s: %d %v", topic, got, ok)
		}
	}
	for _, topic := range []string{"_INBOX.3", "_INBOX.3.", "_INBOX.33.1", "_INBOX.3.1x", "_INBOX.3.1.2", "x"} {
		if _, ok := replyToken([]byte(topic), "_INBOX.3"); ok {
			t.Errorf("%s parsed", topic)
		}
	}
	if leadingCount([]byte("12 messages dropped")) != 12 || leadingCount([]byte("dropped")) != 1 || leadingCount(nil) != 1 {
		t.Fatal("leadingCount")
	}
}

func TestPolicyValuesAreTheWires(t *testing.T) {
	if uint8(Drop) != wire.PolicyDrop || uint8(Block) != wire.PolicyBlock || Drop.String() != "drop" || Block.String() != "block" {
		t.Fatal("policy values drifted from internal/wire")
	}
}
