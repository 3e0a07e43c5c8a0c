package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func TestQueueAddLsInfo(t *testing.T) {
	dir := startRouter(t)
	out, errOut, err := call(t, runQueue, "", "add", "-dir", dir, "-max-msgs", "50", "-max-bytes", "2MiB", "-overflow", "drop-oldest",
		"-ttl", "1m", "-max-deliveries", "3", "-ack-timeout", "5s", "-dead-letter", "queue:jobs.dead", "-starvation", "aging",
		"-alert-levels", "50,90", "-durability", "batch", "jobs")
	if err != nil {
		t.Fatalf("queue add: %v\n%s", err, errOut)
	}
	for _, want := range []string{"name:           jobs", "max 50 messages, 2 MiB; overflow drop-oldest", "ttl:            1m0s",
		"ack timeout:    5s", "max deliveries: 3", "dead letter:    queue:jobs.dead", "starvation:     aging (limit 16)",
		"alerts:         50%, 90%", "durability:     batch"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue add output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `queue "jobs" declared`) {
		t.Errorf("queue add stderr %q", errOut)
	}
	// Again, the same: fine. Another config: refused, with advice.
	if _, errOut, err := call(t, runQueue, "", "add", "-dir", dir, "-max-msgs", "50", "-max-bytes", "2MiB", "-overflow", "drop-oldest",
		"-ttl", "1m", "-max-deliveries", "3", "-ack-timeout", "5s", "-dead-letter", "queue:jobs.dead", "-starvation", "aging",
		"-alert-levels", "50,90", "-durability", "batch", "jobs"); err != nil {
		t.Fatalf("queue add again: %v\n%s", err, errOut)
	}
	_, _, err = call(t, runQueue, "", "add", "-dir", dir, "jobs")
	if !errors.Is(err, bus.ErrQueueConflict) || !strings.Contains(err.Error(), "shmbus queue rm jobs") {
		t.Fatalf("conflicting add: %v", err)
	}
	if _, _, err := call(t, runQueue, "", "add", "-dir", dir, "-alert-levels", "none", "quiet"); err != nil {
		t.Fatal(err)
	}

	out, _, err = call(t, runQueue, "", "ls", "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "depth") || !strings.Contains(lines[1], "jobs") || !strings.Contains(lines[2], "quiet") {
		t.Fatalf("queue ls:\n%s", out)
	}
	out, _, err = call(t, runQueue, "", "ls", "-json", "-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	var qs []bus.QueueInfo
	if err := json.Unmarshal([]byte(out), &qs); err != nil || len(qs) != 2 || qs[0].Name != "jobs" || qs[0].Config.MaxMsgs != 50 ||
		qs[0].Config.Overflow != bus.OverflowDropOldest || !qs[1].Config.NoAlerts {
		t.Fatalf("queue ls -json: %v\n%s", err, out)
	}
	out, _, err = call(t, runQueue, "", "info", "-json", "-dir", dir, "jobs")
	if err != nil {
		t.Fatal(err)
	}
	var qi bus.QueueInfo
	if err := json.Unmarshal([]byte(out), &qi); err != nil || qi.Name != "jobs" || qi.Config.AckTimeout != 5*time.Second || len(qi.Config.AlertLevels) != 2 {
		t.Fatalf("queue info -json: %v\n%s", err, out)
	}
	if _, _, err := call(t, runQueue, "", "info", "-dir", dir, "nope"); !errors.Is(err, bus.ErrQueueNotFound) {
		t.Fatalf("info of no queue: %v", err)
	}
}

func TestSendConsume(t *testing.T) {
	dir := startRouter(t)
	if _, errOut, err := call(t, runQueue, "", "add", "-dir", dir, "work"); err != nil {
		t.Fatalf("queue add: %v\n%s", err, errOut)
	}
	_, errOut, err := call(t, runSend, "", "-dir", dir, "-n", "3", "-p", "7", "-ttl", "1h", "-H", "trace=t{{n}}", "work", "job {{n}}")
	if err != nil || !strings.Contains(errOut, `sent 3 message(s) to queue "work", all confirmed`) {
		t.Fatalf("send: %v\n%s", err, errOut)
	}
	if _, _, err := call(t, runSend, "from stdin", "-dir", dir, "-p", "9", "work"); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := call(t, runConsume, "", "-dir", dir, "-n", "4", "work")
	if err != nil {
		t.Fatalf("consume: %v\n%s", err, errOut)
	}
	for _, want := range []string{
		"[#1] work (10 B, delivery 1, priority 9, ", "from stdin\n",
		"[#2] work (5 B, delivery 1, priority 7, ", "trace: t1\njob 1\n", "[#4] work", "trace: t3\njob 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("consume output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `4 deliveries from queue "work"`) {
		t.Errorf("consume stderr %q", errOut)
	}
	out, _, _ = call(t, runQueue, "", "info", "-dir", dir, "work")
	if !strings.Contains(out, "depth:          0 messages") || !strings.Contains(out, "acked 4") || !strings.Contains(out, "delivered:      4 (redelivered 0)") {
		t.Errorf("after consume -n 4:\n%s", out)
	}

	// -nak: the same message comes back, its delivery count growing.
	call(t, runSend, "", "-dir", dir, "work", "again")
	out, _, err = call(t, runConsume, "", "-dir", dir, "-n", "2", "-nak", "work")
	if err != nil || !strings.Contains(out, "[#1] work (5 B, delivery 1,") || !strings.Contains(out, "[#2] work (5 B, delivery 2,") {
		t.Fatalf("consume -nak: %v\n%s", err, out)
	}
	out, _, err = call(t, runConsume, "", "-dir", dir, "-n", "1", "-term", "-raw", "work")
	if err != nil || out != "again\n" {
		t.Fatalf("consume -term -raw: %v %q", err, out)
	}

	// A refusal is the exit status and says why.
	if _, _, err := call(t, runSend, "", "-dir", dir, "nope", "x"); !errors.Is(err, bus.ErrQueueNotFound) {
		t.Fatalf("send to no queue: %v", err)
	}
	if _, _, err := call(t, runConsume, "", "-dir", dir, "nope"); !errors.Is(err, bus.ErrQueueNotFound) {
		t.Fatalf("consume of no queue: %v", err)
	}
}

func TestConsumeFilterAndInterrupt(t *testing.T) {
	dir := startRouter(t)
	call(t, runQueue, "", "add", "-dir", dir, "orders")
	cons := start(t, runConsume, "-dir", dir, "-filter", `region == "eu"`, "orders")
	cons.waitErrOutput(t, "consuming queue")
	call(t, runSend, "", "-dir", dir, "-H", "region=us", "orders", "us")
	call(t, runSend, "", "-dir", dir, "-H", "region=eu", "orders", "eu")
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(cons.out.String(), "region: eu\neu\n") {
		if time.Now().After(deadline) {
			t.Fatalf("no eu delivery:\n%s", cons.out.String())
		}
		time.Sleep(time.Millisecond)
	}
	cons.cancel()
	if err := cons.wait(t); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cons.out.String(), "us\n") {
		t.Errorf("the filter let us through:\n%s", cons.out.String())
	}
	if !strings.Contains(cons.err.String(), `1 deliveries from queue "orders"`) {
		t.Errorf("consume stderr %q", cons.err.String())
	}
}

func TestQueueBindPurgeRm(t *testing.T) {
	dir := startRouter(t)
	call(t, runQueue, "", "add", "-dir", dir, "logs")
	if _, errOut, err := call(t, runQueue, "", "bind", "-dir", dir, "logs", "app.>"); err != nil || !strings.Contains(errOut, `"app.>" bound to queue "logs"`) {
		t.Fatalf("bind: %v %s", err, errOut)
	}
	call(t, runPub, "", "-dir", dir, "-n", "3", "app.web", "line {{n}}")
	out, _, _ := call(t, runQueue, "", "info", "-dir", dir, "logs")
	if !strings.Contains(out, "bindings:       app.>") || !strings.Contains(out, "depth:          3 messages") {
		t.Fatalf("after bind and pub:\n%s", out)
	}
	if _, errOut, err := call(t, runQueue, "", "unbind", "-dir", dir, "logs", "app.>"); err != nil || !strings.Contains(errOut, "unbound from") {
		t.Fatalf("unbind: %v %s", err, errOut)
	}
	if _, errOut, err := call(t, runQueue, "", "purge", "-dir", dir, "logs"); err != nil || !strings.Contains(errOut, `purged 3 message(s) from queue "logs"`) {
		t.Fatalf("purge: %v %s", err, errOut)
	}
	if _, errOut, err := call(t, runQueue, "", "rm", "-dir", dir, "logs"); err != nil || !strings.Contains(errOut, `queue "logs" deleted`) {
		t.Fatalf("rm: %v %s", err, errOut)
	}
	if _, errOut, err := call(t, runQueue, "", "ls", "-dir", dir); err != nil || !strings.Contains(errOut, "no queues") {
		t.Fatalf("ls: %v %s", err, errOut)
	}
	if _, _, err := call(t, runQueue, "", "rm", "-dir", dir, "logs"); !errors.Is(err, bus.ErrQueueNotFound) {
		t.Fatalf("rm of no queue: %v", err)
	}
}

func TestQueueCommandsUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  clientCmd
		args []string
	}{
		{"queue alone", runQueue, nil},
		{"queue unknown", runQueue, []string{"make"}},
		{"add no name", runQueue, []string{"add"}},
		{"add bad name", runQueue, []string{"add", "a.*"}},
		{"add bad overflow", runQueue, []string{"add", "-overflow", "spill", "q"}},
		{"add bad starvation", runQueue, []string{"add", "-starvation", "fair", "q"}},
		{"add bad durability", runQueue, []string{"add", "-durability", "disk", "q"}},
		{"add bad bytes", runQueue, []string{"add", "-max-bytes", "lots", "q"}},
		{"add bad alerts", runQueue, []string{"add", "-alert-levels", "50,150", "q"}},
		{"rm nothing", runQueue, []string{"rm"}},
		{"ls extra", runQueue, []string{"ls", "x"}},
		{"info no name", runQueue, []string{"info"}},
		{"bind one arg", runQueue, []string{"bind", "q"}},
		{"bind bad pattern", runQueue, []string{"bind", "q", "a.>.b"}},
		{"send no queue", runSend, nil},
		{"send -p 10", runSend, []string{"-p", "10", "q", "x"}},
		{"send -n 0", runSend, []string{"-n", "0", "q", "x"}},
		{"send -ttl -1s", runSend, []string{"-ttl", "-1s", "q", "x"}},
		{"consume no queue", runConsume, nil},
		{"consume bad filter", runConsume, []string{"-filter", "a ==", "q"}},
		{"consume nak and term", runConsume, []string{"-nak", "-term", "q"}},
		{"consume nak-delay alone", runConsume, []string{"-nak-delay", "1s", "q"}},
	} {
		_, errOut, err := call(t, tc.cmd, "", tc.args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%s: %v, want a usage error", tc.name, err)
		}
		if errOut == "" {
			t.Errorf("%s: nothing says why", tc.name)
		}
	}
	dir := filepath.Join(t.TempDir(), "nothing-here")
	for name, args := range map[string][]string{"queue ls": {"ls", "-dir", dir}, "send": {"-dir", dir, "q", "x"}, "consume": {"-dir", dir, "q"}} {
		cmd := runQueue
		switch name {
		case "send":
			cmd = runSend
		case "consume":
			cmd = runConsume
		}
		if _, _, err := call(t, cmd, "", args...); !errors.Is(err, bus.ErrNoRouter) {
			t.Errorf("%s without a router: %v", name, err)
		}
	}
}
