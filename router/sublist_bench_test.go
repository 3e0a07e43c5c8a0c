package router

import (
	"fmt"
	"testing"
)

// benchSublist holds n subscriptions of which the same six match
// benchTopic whatever n is: three plain ones (literal, '*', '>') and a queue
// group of three over two patterns. The n-6 others crowd the very maps the
// topic's lookups go through (orders.*, orders.eu.de.*, the top level), so
// a cost that grew with n would show.
const benchTopic = "orders.eu.de.created"

func benchSublist(tb testing.TB, n int) *Sublist {
	s := NewSublist()
	insert := func(p string, sub *Sub) {
		if err := s.Insert(p, sub); err != nil {
			tb.Fatal(err)
		}
	}
	insert("orders.eu.de.created", &Sub{ID: 1})
	insert("orders.*.de.created", &Sub{ID: 2})
	insert("orders.>", &Sub{ID: 3})
	insert("orders.eu.*.*", &Sub{ID: 4, Group: "workers"})
	insert("orders.eu.*.*", &Sub{ID: 5, Group: "workers"})
	insert("*.eu.de.created", &Sub{ID: 6, Group: "workers"})
	for i := 6; i < n; i++ {
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf("orders.eu.de.ev%d", i)
		case 1:
			p = fmt.Sprintf("orders.r%d.de.created", i)
		case 2:
			p = fmt.Sprintf("svc%d.*.x", i)
		case 3:
			p = fmt.Sprintf("orders.eu.d%d.>", i)
		}
		insert(p, &Sub{ID: uint64(i + 1), Group: []string{"", "g"}[i%2]})
	}
	return s
}

// BenchmarkMatch: ns/op should stay roughly flat as subs grows (the topic
// depth is fixed at 4 and the result at 3 plain + 1 group of 3).
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 1000, 100000} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			s := benchSublist(b, n)
			var r Result
			s.Match(benchTopic, &r)
			if len(r.Plain) != 3 || len(r.Groups) != 1 || len(r.Groups[0].Members) != 3 {
				b.Fatalf("unexpected result %s", canon(&r))
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Match(benchTopic, &r)
				_ = r.Groups[0].Pick()
			}
		})
	}
}

// BenchmarkMatchDepth: the cost grows with the topic depth (here with a '*'
// and a '>' subscriber at every level, the worst shape for the walk).
func BenchmarkMatchDepth(b *testing.B) {
	for _, depth := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("depth=%d", depth), func(b *testing.B) {
			s := NewSublist()
			topic, star := "t", "*"
			for i := range depth {
				if i > 0 {
					topic += ".t"
					star += ".*"
				}
				for j, p := range []string{topic, star, topic + ".>"} {
					if err := s.Insert(p, &Sub{ID: uint64(3*i + j)}); err != nil {
						b.Fatal(err)
					}
				}
			}
			var r Result
			b.ReportAllocs()
			for b.Loop() {
				s.Match(topic, &r)
			}
		})
	}
}

// BenchmarkInsertRemove: one subscribe and one unsubscribe in a Sublist of
// 1000 others.
func BenchmarkInsertRemove(b *testing.B) {
	s := benchSublist(b, 1000)
	sub := &Sub{ID: 1 << 40, Group: "workers"}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Insert("orders.eu.*.created", sub); err != nil {
			b.Fatal(err)
		}
		if err := s.Remove("orders.eu.*.created", sub); err != nil {
			b.Fatal(err)
		}
	}
}
