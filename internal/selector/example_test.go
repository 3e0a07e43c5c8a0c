package selector_test

import (
	"errors"
	"fmt"

	"github.com/shmbus/shmbus/internal/selector"
	"github.com/shmbus/shmbus/internal/wire"
)

func Example() {
	s, err := selector.Compile(`region == "eu" && amount > 100`)
	if err != nil {
		panic(err)
	}
	h := wire.AppendHeaders(nil, map[string][]string{"region": {"eu"}, "amount": {"250.00"}})
	fmt.Println(s.Eval([]byte("orders.created"), 0, h))

	_, err = selector.Compile(`region == "eu" && amount ==`)
	fmt.Println(err)
	fmt.Println(errors.Is(err, selector.ErrSyntax))
	// Output:
	// true
	// selector: at column 28: expected value after "==", got end of input
	// true
}
