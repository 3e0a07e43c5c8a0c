package rules

import (
	"fmt"
	"testing"
)

// BenchmarkApply: the per-message cost with n rules that do not match, and
// with three that do (a rename, a header edit and a route with a selector
// on top of them).
func BenchmarkApply(b *testing.B) {
	h := block("content-type", "application/json", "amount", "150", "region", "eu")
	in := Input{Topic: []byte("other.topic"), Priority: 1, Headers: h}
	for _, matching := range []bool{false, true} {
		for _, n := range []int{0, 10, 100} {
			e := mustParse(b, manyRules(n, matching))
			b.Run(fmt.Sprintf("rules=%d/matching=%v", n, matching), func(b *testing.B) {
				var out Output
				b.ReportAllocs()
				for b.Loop() {
					e.Apply(in, &out)
				}
			})
		}
	}
}
