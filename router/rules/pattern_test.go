package rules

import (
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pat, topic string
		want       bool
		caps       string // captures joined by "|"
	}{
		{"a.b", "a.b", true, ""},
		{"a.b", "a.c", false, ""},
		{"a.b", "a.b.c", false, ""},
		{"a.b.c", "a.b", false, ""},
		{"a.*", "a.b", true, "b"},
		{"a.*", "a", false, ""},
		{"a.*", "a.b.c", false, ""},
		{"*.*", "x.y", true, "x|y"},
		{"a.>", "a.b", true, "b"},
		{"a.>", "a.b.c", true, "b.c"},
		{"a.>", "a", false, ""},
		{">", "x.y.z", true, "x.y.z"},
		{"legacy.*.orders.>", "legacy.eu.orders.new.big", true, "eu|new.big"},
		{"legacy.*.orders.>", "legacy.eu.orders", false, ""},
		{"*.b.*", "a.c.d", false, ""},
		{"ab", "a", false, ""},
		{"a", "ab", false, ""},
	} {
		p, err := compilePattern(tc.pat)
		if err != nil {
			t.Fatal(err)
		}
		var caps captures
		got := p.match([]byte(tc.topic), &caps)
		if got != tc.want {
			t.Errorf("%q matches %q = %v, want %v", tc.pat, tc.topic, got, tc.want)
			continue
		}
		if !got {
			continue
		}
		var cs []string
		for i := 0; i < p.caps; i++ {
			cs = append(cs, tc.topic[caps[i].start:caps[i].end])
		}
		if strings.Join(cs, "|") != tc.caps {
			t.Errorf("%q on %q: captures %q, want %q", tc.pat, tc.topic, cs, tc.caps)
		}
		if p.match([]byte(tc.topic), nil) != got {
			t.Errorf("%q on %q: nil captures changes the answer", tc.pat, tc.topic)
		}
	}
}

func TestPatternMatchGarbage(t *testing.T) {
	p, _ := compilePattern("a.*.>")
	for _, s := range []string{"", ".", "..", "a.", "a..", ".a", "a.b."} {
		p.match([]byte(s), &captures{}) // must not panic
	}
}

func TestTemplateExpand(t *testing.T) {
	p, _ := compilePattern("in.*.>")
	var caps captures
	topicB := []byte("in.eu.x.y")
	if !p.match(topicB, &caps) {
		t.Fatal("no match")
	}
	for _, tc := range []struct{ to, want string }{
		{"out.$1", "out.eu"},
		{"out.$2", "out.x.y"},
		{"$2.$1", "x.y.eu"},
		{"v${1}x.$2", "veux.x.y"},
		{"$$1.$1", "$1.eu"},
		{"$SYS.$1", "$SYS.eu"},
		{"a$", "a$"},
		{"fixed", "fixed"},
	} {
		tpl, err := compileTemplate(tc.to, p.caps, p.src)
		if err != nil {
			t.Errorf("%q: %v", tc.to, err)
			continue
		}
		got, ok := tpl.expand([]byte("pre"), topicB, &caps)
		if !ok || string(got) != "pre"+tc.want {
			t.Errorf("%q: got %q %v, want %q", tc.to, got, ok, tc.want)
		}
	}
}
