package queue

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/internal/topic"
)

func TestRegistryDeclare(t *testing.T) {
	clk := &fakeClock{}
	r := NewRegistry(clk.Now)
	cfg := testConfig()
	q1, err := r.Declare("orders.work", 7, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := q1.Owner(); ok {
		t.Fatal("a named queue has an owner")
	}
	q2, err := r.Declare("orders.work", 8, cfg)
	if err != nil || q2 != q1 {
		t.Fatalf("idempotent declare: %v, same %v", err, q2 == q1)
	}
	other := cfg
	other.MaxMsgs = 5
	_, err = r.Declare("orders.work", 7, other)
	if !errors.Is(err, ErrConfigConflict) || !strings.Contains(err.Error(), "MaxMsgs is 1000, declared with 5") || !strings.Contains(err.Error(), `"orders.work"`) {
		t.Fatalf("conflict: %v", err)
	}
	for _, bad := range []string{"a..b", "a.*", "has space", "_private.1.1"} {
		if _, err := r.Declare(bad, 0, cfg); !errors.Is(err, ErrInvalidName) {
			t.Errorf("declare %q: %v", bad, err)
		}
	}
	if _, err := r.Declare("x", 0, Config{}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("unbounded queue: %v", err)
	}
	self := cfg
	self.DeadLetter = "loop"
	if _, err := r.Declare("loop", 0, self); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("dead-letter to itself: %v", err)
	}
	if got, ok := r.Get("orders.work"); !ok || got != q1 || r.Len() != 1 {
		t.Fatal("Get")
	}
	if q, err := r.Delete("orders.work"); err != nil || q != q1 {
		t.Fatal(err)
	}
	if _, err := r.Delete("orders.work"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
}

func TestRegistryPrivateQueues(t *testing.T) {
	r := NewRegistry(nil)
	cfg := testConfig()
	a1, _ := r.Declare("", 1, cfg)
	a2, _ := r.Declare("", 1, cfg)
	b1, _ := r.Declare("", 2, cfg)
	r.Declare("shared", 1, cfg)
	if a1.Name() == a2.Name() || !strings.HasPrefix(a1.Name(), PrivatePrefix) {
		t.Fatalf("names %q %q", a1.Name(), a2.Name())
	}
	if err := topic.ValidateTopic(a1.Name()); err != nil {
		t.Fatal(err)
	}
	if o, ok := a1.Owner(); !ok || o != 1 {
		t.Fatal("owner")
	}
	if _, err := r.Delete(a2.Name()); err != nil {
		t.Fatal(err)
	}
	gone := r.DropOwner(1)
	if len(gone) != 1 || gone[0] != a1 {
		t.Fatalf("DropOwner(1): %v", gone)
	}
	if fmt.Sprint(r.Names()) != fmt.Sprintf("[%s shared]", b1.Name()) {
		t.Fatalf("left %v", r.Names())
	}
	if len(r.DropOwner(1)) != 0 {
		t.Fatal("second DropOwner")
	}
}

func TestRegistryBindings(t *testing.T) {
	r := NewRegistry(nil)
	q, _ := r.Declare("work", 0, testConfig())
	for _, p := range []string{"orders.*.created", "orders.>", "orders.*.created"} {
		if err := r.Bind("work", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Bind("work", "orders.>.x"); !errors.Is(err, topic.ErrBadTopic) {
		t.Fatalf("bad pattern: %v", err)
	}
	if err := r.Bind("nope", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if fmt.Sprint(q.Bindings()) != "[orders.*.created orders.>]" {
		t.Fatalf("bindings %v", q.Bindings())
	}
	if err := r.Unbind("work", "orders.*.created"); err != nil {
		t.Fatal(err)
	}
	if err := r.Unbind("work", "orders.*.created"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if err := r.Unbind("nope", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	if fmt.Sprint(q.Bindings()) != "[orders.>]" {
		t.Fatalf("bindings %v", q.Bindings())
	}
}
