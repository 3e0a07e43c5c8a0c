package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/shmbus/shmbus/router"
)

// topSnapshots are two synthetic snapshots 2 s apart: busy published 2000
// messages in between, medium received 400, late connected since and
// published 100, idle did nothing.
func topSnapshots() (prev, cur *router.Snapshot) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	prev = &router.Snapshot{Time: t0, RouterPID: 77, NoSubscriber: 5, Clients: []router.ClientStats{
		{ID: 1, Name: "idle", PID: 101, MsgsIn: 10, BytesIn: 1000},
		{ID: 2, Name: "busy", PID: 102, MsgsIn: 5000, BytesIn: 500000},
		{ID: 3, Name: "medium", PID: 103, MsgsOut: 100, BytesOut: 10000,
			Subs: []router.SubStats{{SID: 1, Pattern: "orders.>", Delivered: 100}}},
	}}
	cur = &router.Snapshot{Time: t0.Add(2 * time.Second), RouterPID: 77, NoSubscriber: 9, Clients: []router.ClientStats{
		{ID: 1, Name: "idle", PID: 101, MsgsIn: 10, BytesIn: 1000, InFill: 0.5,
			Subs: []router.SubStats{{SID: 4, Pattern: "quiet.*", Group: "g"}}},
		{ID: 2, Name: "busy", PID: 102, MsgsIn: 7000, BytesIn: 2500000, Dropped: 3},
		{ID: 3, Name: "medium", PID: 103, MsgsOut: 500, BytesOut: 50000, OutFill: 0.25, Dropped: 12,
			Subs: []router.SubStats{{SID: 1, Pattern: "orders.>", Delivered: 500, Dropped: 12}}},
		{ID: 4, Name: "late", PID: 104, MsgsIn: 100, BytesIn: 6400},
	}}
	return prev, cur
}

func TestTopRenderSortsByRate(t *testing.T) {
	prev, cur := topSnapshots()
	var b bytes.Buffer
	renderTop(&b, prev, cur, nil, cur.Time.Add(500*time.Millisecond), 0, 0)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := [][]string{
		{"shmbus", "top", "router", "pid", "77", "snapshot", "0.5s", "old", "(q", "quits)"},
		{"4", "clients", "2", "subscriptions", "msgs/s", "in", "1.05k", "out", "200", "no", "subscriber", "2"},
		nil,
		{"ID", "NAME", "PID", "IN/s", "OUT/s", "IN", "B/s", "OUT", "B/s", "DROPS", "IN%", "OUT%"},
		{"2", "busy", "102", "1.00k", "0", "1.00M", "0", "3", "0%", "0%"},
		{"3", "medium", "103", "0", "200", "0", "20.0k", "12", "0%", "25%"},
		{"4", "late", "104", "50", "0", "3.20k", "0", "0", "0%", "0%"},
		{"1", "idle", "101", "0", "0", "0", "0", "0", "50%", "0%"},
		nil,
		{"CLIENT", "SID", "PATTERN", "GROUP", "MSG/s", "DELIVERED", "DROPS"},
		{"medium#3", "1", "orders.>", "-", "200", "500", "12"},
		{"idle#1", "4", "quiet.*", "g", "0", "0", "0"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), b.String())
	}
	for i, w := range want {
		if got := strings.Fields(lines[i]); strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("line %d:\n got %q\nwant %q", i, got, w)
		}
	}
	// The columns line up under their headers.
	header := lines[3]
	for _, row := range lines[4:8] {
		if end := strings.Index(header, "OUT%") + len("OUT%"); len(row) != end {
			t.Errorf("row %q ends at %d, the header at %d", row, len(row), end)
		}
	}
}

func TestTopRenderFitsTheScreen(t *testing.T) {
	prev, cur := topSnapshots()
	for i := 0; i < 30; i++ {
		cur.Clients = append(cur.Clients, router.ClientStats{ID: uint64(100 + i), Name: strings.Repeat("long-name-", 3), PID: 1,
			Subs: []router.SubStats{{SID: 1, Pattern: "a.very.long.pattern.that.does.not.fit"}}})
	}
	var b bytes.Buffer
	const width, height = 60, 20
	renderTop(&b, prev, cur, errors.New("segment gone"), cur.Time, width, height)
	out := b.String()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != height {
		t.Errorf("%d lines, want %d:\n%s", len(lines), height, out)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > width {
			t.Errorf("line of %d columns, want at most %d: %q", n, width, l)
		}
	}
	for _, want := range []string{"stats unavailable, showing the last snapshot: segment gone", "more clients", "more subscriptions", "long-name-long-…", "busy"} {
		if !strings.Contains(out, want) {
			t.Errorf("frame lacks %q:\n%s", want, out)
		}
	}
}

func TestTopRenderNewRouterHasNoRates(t *testing.T) {
	prev, cur := topSnapshots()
	cur.RouterPID = 78 // restarted: counters started again
	var b bytes.Buffer
	renderTop(&b, prev, cur, nil, cur.Time, 0, 0)
	for _, l := range strings.Split(b.String(), "\n") {
		if f := strings.Fields(l); len(f) == 10 && f[1] == "busy" && (f[3] != "-" || f[4] != "-") {
			t.Errorf("rates across routers: %q", l)
		}
	}
}

func TestSI(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 999.6: "1.00k", 1234: "1.23k", 12345: "12.3k", 123456: "123k", 4.56e7: "45.6M", 2e9: "2.00G", 3e15: "3000T", -1: "-"} {
		if got := si(v); got != want {
			t.Errorf("si(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestTopLive(t *testing.T) {
	dir := startRouter(t)
	nc, err := connect(dir, "top-pub")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for i := 0; i < 10; i++ {
		if err := nc.Publish("top.test", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(waitLimit) // for a snapshot that has the client
	for s, err := router.ReadStats(dir); err != nil || len(s.Clients) == 0 || s.Clients[0].MsgsIn != 10; s, err = router.ReadStats(dir) {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot with the client's 10 messages: %+v, %v", s, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	out, errOut, err := call(t, runTop, "", "-dir", dir, "-n", "2", "-interval", "20ms", "-width", "100", "-height", "30")
	if err != nil {
		t.Fatalf("top: %v\n%s", err, errOut)
	}
	if got := strings.Count(out, ansiHome); got != 2 {
		t.Errorf("%d frames, want 2:\n%q", got, out)
	}
	if !strings.Contains(out, "top-pub") || !strings.Contains(out, "1 clients") {
		t.Errorf("frame lacks the client:\n%s", out)
	}
}

func TestTopQuitsOnQ(t *testing.T) {
	dir := startRouter(t)
	// No -n: only the q on standard input ends it.
	out, errOut, err := call(t, runTop, "q", "-dir", dir, "-interval", "1h")
	if err != nil || out != "" {
		t.Errorf("top: %v, stdout %q, stderr %q", err, out, errOut)
	}
}

func TestTopWithoutRouter(t *testing.T) {
	_, _, err := call(t, runTop, "", "-dir", t.TempDir(), "-n", "1")
	if !errors.Is(err, router.ErrNoStats) {
		t.Errorf("top without a router: %v, want ErrNoStats", err)
	}
	if _, _, err := call(t, runTop, "", "-interval", "0"); !errors.Is(err, errUsage) {
		t.Errorf("top -interval 0: %v, want errUsage", err)
	}
}
