package main

import (
	"context"
	"strings"
	"testing"

	"github.com/shmbus/shmbus/ipc"
)

// runDemoTest runs the demo with tiny counts; its children are this test
// binary (TestMain dispatches them).
func runDemoTest(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out, errOut syncBuf
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	err := runDemo(ctx, append([]string{"-dir", dir, "-n", "200"}, args...), stdio{out: &out, err: &errOut})
	if err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	o := out.String()
	for _, want := range []string{
		"published 200 in ", "received 200, 0 dropped, 0 out of sequence; 20 requests answered", "children exited",
	} {
		if !strings.Contains(o, want) {
			t.Errorf("demo output lacks %q:\n%s", want, o)
		}
	}
	for row, count := range map[string]string{"one-way publish -> deliver": "200", "request/reply round trip": "20"} {
		if got := tableCount(o, row); got != count {
			t.Errorf("demo's %q row counts %q, want %s:\n%s", row, got, count, o)
		}
	}
	names, err := ipc.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if strings.HasPrefix(n, "c-") {
			t.Errorf("connection segment %s left in %s", n, dir)
		}
	}
	return o
}

func TestDemoEmbedsRouter(t *testing.T) {
	out := runDemoTest(t, t.TempDir())
	if !strings.Contains(out, "router running in this process") || !strings.Contains(out, "router stopped") {
		t.Errorf("demo did not run its own router:\n%s", out)
	}
}

func TestDemoUsesRunningRouter(t *testing.T) {
	dir := startRouter(t)
	out := runDemoTest(t, dir, "-rate", "0", "-size", "16")
	if !strings.Contains(out, "a router already runs in "+dir) || strings.Contains(out, "router stopped") {
		t.Errorf("demo did not use the running router:\n%s", out)
	}
}

func TestDemoRemovesDirItCreated(t *testing.T) {
	dir := t.TempDir() + "/bus"
	out := runDemoTest(t, dir, "-requests", "20")
	if !strings.Contains(out, dir+" removed") {
		t.Errorf("demo left %s:\n%s", dir, out)
	}
}

func TestDemoPayload(t *testing.T) {
	buf := make([]byte, 40)
	for _, seq := range []int{1, 42, 1234567} {
		demoPayload(buf, seq)
		if got := payloadSeq(buf); got != int64(seq) {
			t.Errorf("payloadSeq after demoPayload(%d) = %d (%q)", seq, got, buf)
		}
		if !strings.Contains(string(buf), " shmbus demo") {
			t.Errorf("payload %q", buf)
		}
	}
}

// tableCount is the count column of the latency table's row named row.
func tableCount(out, row string) string {
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, row); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}
