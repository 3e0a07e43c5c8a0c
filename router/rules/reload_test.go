package rules

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestReloadSwap: goroutines apply whatever Engine is current while
// another swaps rule sets; each message sees one whole rule set (the
// rename and the header edit of the same set, never one without the
// other). Run with -race.
func TestReloadSwap(t *testing.T) {
	set := func(v string) *Engine {
		return mustParse(t, ruleFile("kind = \"rename\"\nmatch = \"in.*\"\nto = \"v"+v+".$1\"")+
			ruleFile("kind = \"set-header\"\nmatch = \"v"+v+".*\"\nheader = \"v\"\nvalue = \""+v+"\""))
	}
	engines := []*Engine{set("1"), set("2")}
	var current atomic.Pointer[Engine]
	current.Store(engines[0])
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out Output
			for i := 0; i < 2000; i++ {
				current.Load().Apply(Input{Topic: []byte("in.x")}, &out)
				v := string(out.Topic[1])
				if string(out.Topic) != "v"+v+".x" || pairs(out.Headers) != "v="+v {
					t.Errorf("mixed result: %q %q", out.Topic, pairs(out.Headers))
					return
				}
			}
		}()
	}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				current.Store(engines[i%2])
			}
		}
	}()
	wg.Wait()
	close(stop)
}
