package router

import (
	"testing"
	"time"

	"github.com/shmbus/shmbus/internal/wire"
)

// A Block-policy subscription that names no timeout blocks for the
// router's BlockTimeout (it used to be dropped for at once, as with Drop).
func TestBlockPolicyWithoutTimeoutUsesDefault(t *testing.T) {
	r, err := New(Config{Dir: t.TempDir(), Logger: testLogger(t), BlockTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	pub := dialRaw(t, r.Dir())
	slow := dialRaw(t, r.Dir())
	slow.sub(1, "a", "", wire.PolicyBlock, 0)
	settle(slow)
	const n = 900 // more than slow's ring holds, less than its ring and pub's together
	for range n {
		pub.pub("a", "", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}
	total, drops := 0, 0
	for deadline := time.Now().Add(20 * time.Second); total < n && time.Now().Before(deadline); {
		for _, m := range slow.drain(time.Millisecond) {
			if m.typ == wire.TypeErr {
				drops++
			} else {
				total++
			}
		}
	}
	if total != n || drops != 0 {
		t.Fatalf("block-policy subscriber without a timeout got %d of %d, %d drop reports", total, n, drops)
	}
	if d, _ := New(Config{Dir: t.TempDir()}); d == nil || d.cfg.BlockTimeout != DefaultBlockTimeout {
		t.Fatal("no default block timeout")
	} else {
		d.Close()
	}
}
