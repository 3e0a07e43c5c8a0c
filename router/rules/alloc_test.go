package rules

import (
	"fmt"
	"strings"
	"testing"
)

// manyRules is n route rules on orders.<i>.> topics, none of which match
// "other.topic", plus, with matching, rules that do match it.
func manyRules(n int, matching bool) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[[rule]]\nkind = \"route\"\nmatch = \"orders.r%d.>\"\nselector = 'amount > %d'\ntopics = [\"audit.r%d\"]\n", i, i, i)
	}
	if matching {
		b.WriteString(`
[[rule]]
kind = "rename"
match = "other.*"
to = "renamed.$1"

[[rule]]
kind = "set-header"
match = "renamed.>"
header = "x-seen"
value = "1"

[[rule]]
kind = "route"
match = "renamed.*"
selector = 'amount > 100'
topics = ["copies.big"]
queues = ["q"]
`)
	}
	return b.String()
}

func TestApplyAllocs(t *testing.T) {
	h := block("amount", "150", "region", "eu")
	in := Input{Topic: []byte("other.topic"), Priority: 1, Headers: h}
	for _, n := range []int{0, 10, 100} {
		e := mustParse(t, manyRules(n, false))
		var out Output
		if a := testing.AllocsPerRun(100, func() { e.Apply(in, &out) }); a != 0 {
			t.Errorf("%d rules, none matching: %v allocations", n, a)
		}
		e = mustParse(t, manyRules(n, true))
		e.Apply(in, &out) // grow out's slices
		if out.Matched != 3 || len(out.Copies) != 2 {
			t.Fatalf("matching: %s", result(&out))
		}
		if a := testing.AllocsPerRun(100, func() { e.Apply(in, &out) }); a != 0 {
			t.Errorf("%d rules, 3 matching, reused Output: %v allocations", n, a)
		}
	}
}
