package rules_test

import (
	"fmt"
	"sync/atomic"

	"github.com/shmbus/shmbus/router/rules"
)

func Example() {
	e, err := rules.Parse([]byte(`
[[rule]]
name = "legacy"
kind = "rename"
match = "legacy.*.orders"
to = "orders.$1"

[[rule]]
name = "audit"
kind = "route"
match = "orders.*"
selector = 'amount > 1000'
queues = ["audit"]
`))
	if err != nil {
		panic(err)
	}
	var current atomic.Pointer[rules.Engine] // swapped on reload
	current.Store(e)

	var out rules.Output // reused for every message
	current.Load().Apply(rules.Input{Topic: []byte("legacy.eu.orders")}, &out)
	fmt.Printf("deliver to %s, %d copies\n", out.Topic, len(out.Copies))

	_, err = rules.Parse([]byte("[[rule]]\nname = \"x\"\nkind = \"rename\"\nmatch = \"a.*\"\nto = \"b.$2\"\n"))
	fmt.Println(err)
	// Output:
	// deliver to orders.eu, 0 copies
	// rules: rule 1 ("x"), field to: "b.$2" uses a capture that does not exist: $2, and pattern "a.*" has 1 wildcard(s)
}
