package rules

import (
	"fmt"
	"strings"
	"testing"
)

// result renders an Output for comparison: "topic [headers] | copies".
func result(o *Output) string {
	var b strings.Builder
	if o.Moved {
		b.WriteString("moved")
	} else {
		fmt.Fprintf(&b, "%s", o.Topic)
	}
	if o.HeadersEdited {
		fmt.Fprintf(&b, " [%s]", pairs(o.Headers))
	}
	for _, c := range o.Copies {
		if c.Queue != "" {
			fmt.Fprintf(&b, " | queue %s (%s)", c.Queue, c.Topic)
		} else {
			fmt.Fprintf(&b, " | %s", c.Topic)
		}
		if c.HeadersEdited {
			fmt.Fprintf(&b, " [%s]", pairs(c.Headers))
		}
		fmt.Fprintf(&b, " hop%d r%d", c.Hop, c.Rule)
	}
	if o.Skipped > 0 {
		fmt.Fprintf(&b, " skipped=%d", o.Skipped)
	}
	return b.String()
}

func TestApply(t *testing.T) {
	r := func(body string) string { return ruleFile(body) }
	for _, tc := range []struct {
		name    string
		rules   string
		topic   string
		headers []byte
		want    string
		matched int
	}{
		{"no rules", "", "a.b", nil, "a.b", 0},
		{"no match", r(`kind = "route"` + "\nmatch = \"x.>\"\ntopics = [\"y\"]"), "a.b", nil, "a.b", 0},
		// route
		{"copy to topic", r("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"c\"]"), "a.b", nil, "a.b | c hop1 r1", 1},
		{"copy to topics and queues", r("kind = \"route\"\nmatch = \"a.>\"\ntopics = [\"c\", \"d\"]\nqueues = [\"q\"]"), "a.b.c", nil, "a.b.c | c hop1 r1 | d hop1 r1 | queue q (a.b.c) hop1 r1", 1},
		{"move", r("kind = \"route\"\nmatch = \"a.*\"\nmode = \"move\"\ntopics = [\"c\"]"), "a.b", nil, "moved | c hop1 r1", 1},
		{"move stops later rules", r("kind = \"route\"\nmatch = \"a.*\"\nmode = \"move\"\nqueues = [\"q\"]") + r("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"c\"]"), "a.b", nil, "moved | queue q (a.b) hop1 r1", 1},
		{"copy goes on to later rules", r("kind = \"route\"\nmatch = \"a.*\"\nqueues = [\"q\"]") + r("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"c\"]"), "a.b", nil, "a.b | queue q (a.b) hop1 r1 | c hop1 r2", 2},
		{"selector matches", r("kind = \"route\"\nmatch = \"a\"\nselector = 'amount > 100'\ntopics = [\"big\"]"), "a", block("amount", "150"), "a | big hop1 r1", 1},
		{"selector does not match", r("kind = \"route\"\nmatch = \"a\"\nselector = 'amount > 100'\ntopics = [\"big\"]"), "a", block("amount", "50"), "a", 0},
		{"selector sees $topic", r("kind = \"route\"\nmatch = \"orders.>\"\nselector = '$topic like \"*.eu\"'\ntopics = [\"eu\"]"), "orders.eu", nil, "orders.eu | eu hop1 r1", 1},
		// copies run through the rules again
		{"copy renamed", r("kind = \"route\"\nmatch = \"a.*\"\ntopics = [\"legacy.x\"]") + r("kind = \"rename\"\nmatch = \"legacy.*\"\nto = \"new.$1\""), "a.b", nil, "a.b | new.x hop1 r1", 2},
		{"copy of copy", r("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]") + r("kind = \"route\"\nmatch = \"b\"\ntopics = [\"c\"]"), "a", nil, "a | c hop2 r2 | b hop1 r1", 2},
		{"copy moved away", r("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]") + r("kind = \"route\"\nmatch = \"b\"\nmode = \"move\"\nqueues = [\"q\"]"), "a", nil, "a | queue q (b) hop2 r2", 2},
		{"copy edited", r("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]") + r("kind = \"set-header\"\nmatch = \"b\"\nheader = \"via\"\nvalue = \"a\""), "a", block("k", "v"), "a | b [k=v via=a] hop1 r1", 2},
		{"copy keeps earlier edits only", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"one\"\nvalue = \"1\"") + r("kind = \"route\"\nmatch = \"a\"\nqueues = [\"q\"]") + r("kind = \"set-header\"\nmatch = \"a\"\nheader = \"two\"\nvalue = \"2\""),
			"a", nil, "a [one=1 two=2] | queue q (a) [one=1] hop1 r2", 3},
		// rename
		{"rename star", r("kind = \"rename\"\nmatch = \"legacy.*.orders\"\nto = \"orders.$1\""), "legacy.eu.orders", nil, "orders.eu", 1},
		{"rename full wildcard", r("kind = \"rename\"\nmatch = \"legacy.>\"\nto = \"v2.$1.end\""), "legacy.a.b.c", nil, "v2.a.b.c.end", 1},
		{"rename two captures swapped", r("kind = \"rename\"\nmatch = \"*.x.*\"\nto = \"$2.${1}s\""), "a.x.b", nil, "b.as", 1},
		{"rename capture twice", r("kind = \"rename\"\nmatch = \"*\"\nto = \"$1.$1\""), "a", nil, "a.a", 1},
		{"rename dollar literal", r("kind = \"rename\"\nmatch = \"*\"\nto = \"$SYS.$$1.$1\""), "a", nil, "$SYS.$1.a", 1},
		{"rename then match new name", r("kind = \"rename\"\nmatch = \"old.*\"\nto = \"new.$1\"") + r("kind = \"route\"\nmatch = \"new.*\"\nqueues = [\"q\"]"), "old.a", nil, "new.a | queue q (new.a) hop1 r2", 2},
		{"old name no longer matches", r("kind = \"rename\"\nmatch = \"old.*\"\nto = \"new.$1\"") + r("kind = \"route\"\nmatch = \"old.*\"\nqueues = [\"q\"]"), "old.a", nil, "new.a", 1},
		{"rename too deep skipped", r("kind = \"rename\"\nmatch = \">\"\nto = \"$1.$1\""), strings.Repeat("t.", 20) + "t", nil, strings.Repeat("t.", 20) + "t skipped=1", 1},
		// header edits
		{"set header", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"b\"\nvalue = \"2\""), "a", block("a", "1"), "a [a=1 b=2]", 1},
		{"set replaces all values", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"9\""), "a", block("a", "1", "b", "2", "a", "3"), "a [b=2 a=9]", 1},
		{"set empty value", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"\""), "a", nil, "a [a=]", 1},
		{"remove header", r("kind = \"remove-header\"\nmatch = \">\"\nheader = \"a\""), "a", block("a", "1", "b", "2", "a", "3"), "a [b=2]", 1},
		{"remove absent header", r("kind = \"remove-header\"\nmatch = \">\"\nheader = \"z\""), "a", block("a", "1"), "a [a=1]", 1},
		{"edit seen by next selector", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"tier\"\nvalue = \"gold\"") + r("kind = \"route\"\nmatch = \">\"\nselector = 'tier == \"gold\"'\nqueues = [\"vip\"]"),
			"a", nil, "a [tier=gold] | queue vip (a) [tier=gold] hop1 r2", 2},
		{"edit on malformed block skipped", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"1\""), "a", []byte{7}, "a skipped=1", 1},
		// ordering
		{"order: set then remove", r("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"1\"") + r("kind = \"remove-header\"\nmatch = \">\"\nheader = \"a\""), "t", nil, "t []", 2},
		{"order: remove then set", r("kind = \"remove-header\"\nmatch = \">\"\nheader = \"a\"") + r("kind = \"set-header\"\nmatch = \">\"\nheader = \"a\"\nvalue = \"1\""), "t", block("a", "0"), "t [a=1]", 2},
		{"order: route before rename", r("kind = \"route\"\nmatch = \"a\"\nqueues = [\"q\"]") + r("kind = \"rename\"\nmatch = \"a\"\nto = \"b\""), "a", nil, "b | queue q (a) hop1 r1", 2},
		{"order: rename before route", r("kind = \"rename\"\nmatch = \"a\"\nto = \"b\"") + r("kind = \"route\"\nmatch = \"b\"\nqueues = [\"q\"]"), "a", nil, "b | queue q (b) hop1 r2", 2},
		// limits at run time
		{"max_copies", "max_copies = 2\n" + r("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\", \"c\", \"d\"]"), "a", nil, "a | b hop1 r1 | c hop1 r1 skipped=1", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := mustParse(t, tc.rules)
			var out Output
			e.Apply(Input{Topic: []byte(tc.topic), Priority: 4, Headers: tc.headers}, &out)
			if got := result(&out); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if out.Matched != tc.matched {
				t.Errorf("matched %d, want %d", out.Matched, tc.matched)
			}
			// The same Output again gives the same result.
			e.Apply(Input{Topic: []byte(tc.topic), Priority: 4, Headers: tc.headers}, &out)
			if got := result(&out); got != tc.want {
				t.Errorf("second Apply: %s", got)
			}
		})
	}
}

func TestApplyNilEngine(t *testing.T) {
	var e *Engine
	out := Output{Moved: true, Skipped: 3}
	h := block("a", "1")
	e.Apply(Input{Topic: []byte("a.b"), Headers: h}, &out)
	if string(out.Topic) != "a.b" || out.Moved || out.Skipped != 0 || &out.Headers[0] != &h[0] || e.Len() != 0 {
		t.Fatalf("%+v", out)
	}
}

// TestApplyHopCap: the run-time caps hold even for a rule set that the
// load-time check would refuse (a loop patched in after Parse).
func TestApplyHopCap(t *testing.T) {
	e := mustParse(t, ruleFile("kind = \"route\"\nmatch = \"a\"\ntopics = [\"b\"]")+ruleFile("kind = \"route\"\nmatch = \"b\"\ntopics = [\"c\"]"))
	e.rules[1].topics = [][]byte{[]byte("b")} // b copies to b: a loop
	var out Output
	e.Apply(Input{Topic: []byte("a")}, &out)
	if got, want := result(&out), "a | b hop4 r2 | b hop3 r2 | b hop2 r2 | b hop1 r1 skipped=1"; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	e.maxHops = 1
	e.Apply(Input{Topic: []byte("a")}, &out)
	if got, want := result(&out), "a | b hop1 r1 skipped=1"; got != want {
		t.Fatalf("max_hops 1: got %s", got)
	}
}
