package selector

import "testing"

// BenchmarkEval is the per-message cost of typical selectors on a message
// with eight headers, the ones read among the last.
func BenchmarkEval(b *testing.B) {
	h := block("content-type", "application/json", "user", "u-1842", "source", "web",
		"version", "3", "region", "eu", "amount", "150.25", "tier", "gold", "x-trace", "abc")
	topic := []byte("orders.eu.created")
	for _, bs := range benchSelectors {
		s := MustCompile(bs.src)
		b.Run("sel="+bs.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Eval(topic, 3, h)
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		MustCompile(`region == "eu" && amount > 100 || tier in ("gold", "platinum")`)
	}
}
