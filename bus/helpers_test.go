package bus

import (
	"sync"
	"testing"
	"time"
)

// waitLimit bounds every wait in the tests: a generous limit on a loop,
// not a timing assertion.
const waitLimit = 20 * time.Second

// connect connects to the bus in dir, closing the Conn when the test ends.
func connect(t testing.TB, dir string, opts ...Option) *Conn {
	t.Helper()
	c, err := Connect(append([]Option{WithDir(dir)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitFor polls cond until it holds, failing the test after waitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// collector gathers owned copies of what a handler receives.
type collector struct {
	mu   sync.Mutex
	msgs []*Msg
}

func (c *collector) handler(m *Msg) {
	cp := m.Copy()
	c.mu.Lock()
	c.msgs = append(c.msgs, cp)
	c.mu.Unlock()
}

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) data() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.msgs))
	for i, m := range c.msgs {
		out[i] = string(m.Data)
	}
	return out
}

func (c *collector) wait(t testing.TB, n int) []string {
	t.Helper()
	waitFor(t, "messages", func() bool { return c.len() >= n })
	return c.data()
}

// errLog records what the error handler gets.
type errLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errLog) handler(_ *Conn, _ *Subscription, err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errLog) all() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]error(nil), l.errs...)
}

// inFree is how many bytes a claim in c's in ring could take now.
func (c *Conn) inFree() int {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return c.prod.Free()
}
