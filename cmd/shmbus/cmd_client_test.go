package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shmbus/shmbus/bus"
)

func TestPubThenSub(t *testing.T) {
	dir := startRouter(t)
	sub := start(t, runSub, "-dir", dir, "-n", "3", "orders.*")
	sub.waitErrOutput(t, "listening on")

	_, perr, err := call(t, runPub, "", "-dir", dir, "-n", "3", "-H", "trace=t{{n}}", "-H", "kind=order",
		"-reply", "audit.orders", "orders.eu", "order {{n}}")
	if err != nil {
		t.Fatalf("pub: %v\n%s", err, perr)
	}
	if !strings.Contains(perr, "published 3 message(s)") {
		t.Errorf("pub stderr %q", perr)
	}
	if err := sub.wait(t); err != nil {
		t.Fatalf("sub: %v\n%s", err, sub.err.String())
	}
	out := sub.out.String()
	for _, want := range []string{
		"[#1] orders.eu reply=audit.orders (7 B, ", "after publish)\nkind: order\ntrace: t1\norder 1\n",
		"[#3] orders.eu", "trace: t3\norder 3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sub output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "[#4]") {
		t.Errorf("sub printed more than -n 3:\n%s", out)
	}
	if !strings.Contains(sub.err.String(), "3 message(s) received") {
		t.Errorf("sub stderr %q", sub.err.String())
	}
}

func TestPubFromStdinSubRaw(t *testing.T) {
	dir := startRouter(t)
	sub := start(t, runSub, "-dir", dir, "-n", "1", "-raw", "-queue", "g", "logs.>")
	sub.waitErrOutput(t, "listening on")
	if _, perr, err := call(t, runPub, "line from stdin", "-dir", dir, "logs.app.info"); err != nil {
		t.Fatalf("pub: %v\n%s", err, perr)
	}
	if err := sub.wait(t); err != nil {
		t.Fatalf("sub: %v", err)
	}
	if got := sub.out.String(); got != "line from stdin\n" {
		t.Errorf("sub -raw printed %q", got)
	}
}

func TestSubStopsWhenInterrupted(t *testing.T) {
	dir := startRouter(t)
	sub := start(t, runSub, "-dir", dir, "quiet.topic")
	sub.waitErrOutput(t, "listening on")
	sub.cancel() // as SIGINT does
	if err := sub.wait(t); err != nil {
		t.Fatalf("sub: %v", err)
	}
	if !strings.Contains(sub.err.String(), "0 message(s) received") {
		t.Errorf("sub stderr %q", sub.err.String())
	}
}

func TestReqReply(t *testing.T) {
	dir := startRouter(t)
	rep := start(t, runReply, "-dir", dir, "-n", "1", "svc.time", "noon")
	rep.waitErrOutput(t, "answering requests")
	out, errOut, err := call(t, runReq, "", "-dir", dir, "svc.time", "what time is it?")
	if err != nil {
		t.Fatalf("req: %v\n%s", err, errOut)
	}
	if out != "noon\n" {
		t.Errorf("req printed %q, want %q", out, "noon\n")
	}
	if !strings.Contains(errOut, `reply from "svc.time" in `) {
		t.Errorf("req stderr %q", errOut)
	}
	if err := rep.wait(t); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if !strings.Contains(rep.err.String(), "[#1] svc.time: answered 16 B with 4 B") {
		t.Errorf("reply stderr %q", rep.err.String())
	}
}

func TestReplyCmd(t *testing.T) {
	if _, err := exec.LookPath("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	if _, err := exec.LookPath("tr"); err != nil {
		t.Skip("no tr")
	}
	dir := startRouter(t)
	rep := start(t, runReply, "-dir", dir, "-n", "1", "-queue", "upper", "-cmd", "tr a-z A-Z", "text.upper")
	rep.waitErrOutput(t, "answering requests")
	out, errOut, err := call(t, runReq, "shout this", "-dir", dir, "text.upper")
	if err != nil {
		t.Fatalf("req: %v\n%s\nreply's stderr:\n%s", err, errOut, rep.err.String())
	}
	if out != "SHOUT THIS\n" {
		t.Errorf("req printed %q", out)
	}
	// A failing command still answers, with an Error header.
	fail := start(t, runReply, "-dir", dir, "-n", "1", "-cmd", "echo partial; exit 3", "text.fail")
	fail.waitErrOutput(t, "answering requests")
	out, errOut, err = call(t, runReq, "", "-dir", dir, "text.fail", "x")
	if err != nil {
		t.Fatalf("req: %v\n%s", err, errOut)
	}
	if out != "partial\n" || !strings.Contains(errOut, errHeader+": exit status 3") {
		t.Errorf("req of a failing command: stdout %q, stderr %q", out, errOut)
	}
}

func TestReqNoResponders(t *testing.T) {
	dir := startRouter(t)
	_, _, err := call(t, runReq, "", "-dir", dir, "nobody.home", "hello?")
	if !errors.Is(err, bus.ErrNoResponders) || !strings.Contains(err.Error(), "shmbus reply nobody.home") {
		t.Fatalf("req with no responders: %v", err)
	}
}

func TestReqTimeout(t *testing.T) {
	dir := startRouter(t)
	nc, err := bus.Connect(bus.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.SubscribeSync("svc.mute"); err != nil { // receives, never answers
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	_, _, err = call(t, runReq, "", "-dir", dir, "-timeout", "20ms", "svc.mute", "hello?")
	if !errors.Is(err, bus.ErrTimeout) || !strings.Contains(err.Error(), "no reply") {
		t.Fatalf("req to a mute subscriber: %v", err)
	}
}

func TestNoRouter(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	for _, tc := range []struct {
		name string
		cmd  clientCmd
		args []string
	}{
		{"pub", runPub, []string{"-dir", dir, "a.b", "x"}},
		{"sub", runSub, []string{"-dir", dir, "a.b"}},
		{"req", runReq, []string{"-dir", dir, "a.b", "x"}},
		{"reply", runReply, []string{"-dir", dir, "a.b", "x"}},
	} {
		_, _, err := call(t, tc.cmd, "", tc.args...)
		if !errors.Is(err, bus.ErrNoRouter) || !strings.Contains(err.Error(), "shmbusd -dir "+dir) ||
			!strings.Contains(err.Error(), "shmbus demo -dir "+dir) {
			t.Errorf("%s without a router: %v", tc.name, err)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the commands left %s behind (%v)", dir, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  clientCmd
		args []string
	}{
		{"pub no topic", runPub, nil},
		{"pub extra", runPub, []string{"a", "b", "c"}},
		{"pub bad topic", runPub, []string{"a..b", "x"}},
		{"pub wildcard topic", runPub, []string{"a.*", "x"}},
		{"pub -n 0", runPub, []string{"-n", "0", "a", "x"}},
		{"pub bad header", runPub, []string{"-H", "novalue", "a", "x"}},
		{"pub bad reply", runPub, []string{"-reply", "r.>", "a", "x"}},
		{"sub no pattern", runSub, nil},
		{"sub bad pattern", runSub, []string{"a.>.b"}},
		{"sub -n -1", runSub, []string{"-n", "-1", "a"}},
		{"sub bad queue", runSub, []string{"-queue", "g.*", "a"}},
		{"req no topic", runReq, nil},
		{"req -timeout 0", runReq, []string{"-timeout", "0", "a", "x"}},
		{"req unknown flag", runReq, []string{"-bogus", "a", "x"}},
		{"reply neither", runReply, []string{"a"}},
		{"reply both", runReply, []string{"-cmd", "cat", "a", "x"}},
		{"reply -n -2", runReply, []string{"-n", "-2", "a", "x"}},
		{"demo extra", runDemo, []string{"now"}},
		{"demo -n 0", runDemo, []string{"-n", "0"}},
		{"demo -size 1", runDemo, []string{"-size", "1"}},
		{"demo -rate -1", runDemo, []string{"-rate", "-1"}},
		{"demo -rate NaN", runDemo, []string{"-rate", "NaN"}},
		{"demo -rate 0.5", runDemo, []string{"-rate", "0.5"}},
		{"demo -requests -1", runDemo, []string{"-requests", "-1"}},
		{"demo -requests x", runDemo, []string{"-requests", "x"}},
	} {
		_, errOut, err := call(t, tc.cmd, "", tc.args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%s: %v, want a usage error", tc.name, err)
		}
		if errOut == "" {
			t.Errorf("%s: nothing says why", tc.name)
		}
	}
}

func TestStatShowsClient(t *testing.T) {
	dir := startRouter(t)
	nc, err := bus.Connect(bus.WithDir(dir), bus.WithName("stat-test-client"))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.SubscribeSync("watched.>"); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The router refreshes its stats segment periodically: ask until the
	// client shows, within a bound.
	// Until then stat may find no stats at all.
	var out string
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(out, "stat-test-client") || !strings.Contains(out, "watched.>") {
		if time.Now().After(deadline) {
			t.Fatalf("stat never showed the client (last error: %v):\n%s", err, out)
		}
		out, err = captureStdout(t, func() error { return runStat([]string{"-dir", dir, "-interval", "10ms"}) })
	}
}

func TestDur(t *testing.T) {
	for d, want := range map[time.Duration]string{
		850:                       "850ns",
		12345:                     "12.3µs",
		999_960:                   "1000µs",
		1_250_000:                 "1.25ms",
		99_960_000:                "100ms",
		1_560_000_000:             "1.56s",
		time.Duration(1234) * 1e9: "1234s",
	} {
		if got := dur(d); got != want {
			t.Errorf("dur(%d) = %q, want %q", int64(d), got, want)
		}
	}
}
