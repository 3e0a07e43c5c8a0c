package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router"
)

func init() {
	register(&command{
		name:    "top",
		summary: "live view of the router's clients and subscriptions, busiest first",
		run:     interruptible(runTop),
	})
}

const topDoc = `Shows the router's clients and subscriptions, refreshed every -interval,
busiest first: message and byte rates (from the two latest snapshots of the
router's stats segment), drops and ring fill. It never talks to the router.
q or Ctrl-C quits; -n stops after that many refreshes.

  shmbus top
  shmbus top -interval 500ms
  shmbus top -n 10 -width 120`

// The terminal controls of a refresh: cursor home before the frame, erase
// the rest of each line and, after it, the rest of the screen (no flicker).
const (
	ansiHome      = "\x1b[H"
	ansiEraseLine = "\x1b[K"
	ansiEraseDown = "\x1b[J"
)

func runTop(ctx context.Context, args []string, sio stdio) error {
	fs, dir := clientFlags("top", "", topDoc, sio)
	every := fs.Duration("interval", time.Second, "time between refreshes")
	n := fs.Int("n", 0, "exit after this many refreshes (0: until q or Ctrl-C)")
	width := fs.Int("width", 0, "columns to fit in (0: the terminal's, unlimited when not a terminal)")
	height := fs.Int("height", 0, "lines to fit in (0: the terminal's, unlimited when not a terminal)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() != 0:
		return badUsage(fs, "want no arguments, got %d", fs.NArg())
	case *every <= 0:
		return badUsage(fs, "-interval %v: want > 0", *every)
	case *n < 0 || *width < 0 || *height < 0:
		return badUsage(fs, "-n, -width and -height want 0 or more")
	}
	cur, err := firstStats(ctx, *dir)
	if err != nil {
		return err
	}
	prev := cur
	quit, restore := watchKeys(sio.in)
	defer restore()
	tick := time.NewTicker(*every)
	defer tick.Stop()
	var frame bytes.Buffer
	for i := 0; *n == 0 || i < *n; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-quit:
			return nil
		case <-tick.C:
		}
		s, err := router.ReadStats(*dir)
		if err == nil && s.Time.After(cur.Time) {
			prev, cur = cur, s
		}
		w, h := termSize(sio.out, *width, *height)
		frame.Reset()
		renderTop(&frame, prev, cur, err, time.Now(), w, h)
		out := ansiHome + strings.ReplaceAll(frame.String(), "\n", ansiEraseLine+"\n") + ansiEraseDown
		if _, err := io.WriteString(sio.out, out); err != nil {
			return err
		}
	}
	return nil
}

// firstStats reads the router's stats; a router that has just started
// (its socket is there) gets up to statsWait to publish its first snapshot.
func firstStats(ctx context.Context, dir string) (*router.Snapshot, error) {
	const statsWait = 2 * time.Second
	deadline := time.Now().Add(statsWait)
	for {
		s, err := router.ReadStats(dir)
		if err == nil {
			return s, nil
		}
		if _, serr := os.Stat(filepath.Join(dir, wire.SocketName)); serr != nil || ctx.Err() != nil || time.Now().After(deadline) {
			return nil, fmt.Errorf("is a router running on %s? %w", dir, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// watchKeys reads keys from in and closes quit on q (or a Ctrl-C that
// reaches it as a byte). A terminal is put out of line mode (no echo, keys
// at once; Ctrl-C still signals) until restore.
func watchKeys(in io.Reader) (quit <-chan struct{}, restore func()) {
	ch := make(chan struct{})
	restore = func() {}
	if f, ok := in.(*os.File); ok {
		fd := int(f.Fd())
		if old, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
			raw := *old
			raw.Lflag &^= unix.ICANON | unix.ECHO
			raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
			if unix.IoctlSetTermios(fd, unix.TCSETS, &raw) == nil {
				restore = func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }
			}
		}
	}
	if in != nil {
		// On a terminal this goroutine stays blocked in Read when top ends
		// by -n or a signal; the process ends right after.
		go func() {
			b := make([]byte, 1)
			for {
				if _, err := in.Read(b); err != nil {
					return
				}
				if b[0] == 'q' || b[0] == 'Q' || b[0] == 3 {
					close(ch)
					return
				}
			}
		}()
	}
	return ch, restore
}

// termSize is the frame's size: the flags when set, else w's terminal's,
// else unlimited (0).
func termSize(w io.Writer, width, height int) (int, int) {
	if width > 0 && height > 0 {
		return width, height
	}
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 && ws.Row > 0 {
			if width == 0 {
				width = int(ws.Col)
			}
			if height == 0 {
				height = int(ws.Row) - 1 // the line the cursor rests on
			}
		}
	}
	return width, height
}

// clientRates are a client's counters per second between two snapshots;
// NaN where there is no earlier sample to compare with.
type clientRates struct {
	c                                  *router.ClientStats
	msgsIn, msgsOut, bytesIn, bytesOut float64
}

func (r *clientRates) msgs() float64 { return nanZero(r.msgsIn) + nanZero(r.msgsOut) }

type subRates struct {
	c         *router.ClientStats
	s         *router.SubStats
	delivered float64
}

// rate is (now-then)/dt, NaN without a time span or when the counter went
// back (a new router).
func rate(now, then uint64, dt float64) float64 {
	if dt <= 0 || now < then {
		return math.NaN()
	}
	return float64(now-then) / dt
}

func nanZero(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// span is the seconds from prev to cur; 0 (no rates) when they are one
// snapshot or come from different routers (counters started again).
func span(prev, cur *router.Snapshot) float64 {
	if prev.RouterPID != cur.RouterPID {
		return 0
	}
	return cur.Time.Sub(prev.Time).Seconds()
}

// topRates computes the rates of cur against prev, busiest first.
func topRates(prev, cur *router.Snapshot) ([]clientRates, []subRates) {
	dt := span(prev, cur)
	type subKey struct{ id, sid uint64 }
	before := map[uint64]*router.ClientStats{}
	subBefore := map[subKey]*router.SubStats{}
	for i := range prev.Clients {
		c := &prev.Clients[i]
		before[c.ID] = c
		for j := range c.Subs {
			subBefore[subKey{c.ID, c.Subs[j].SID}] = &c.Subs[j]
		}
	}
	var cs []clientRates
	var ss []subRates
	for i := range cur.Clients {
		c := &cur.Clients[i]
		p := before[c.ID]
		if p == nil {
			p = &router.ClientStats{} // connected since: its counters started from 0
		}
		cs = append(cs, clientRates{c: c, msgsIn: rate(c.MsgsIn, p.MsgsIn, dt), msgsOut: rate(c.MsgsOut, p.MsgsOut, dt),
			bytesIn: rate(c.BytesIn, p.BytesIn, dt), bytesOut: rate(c.BytesOut, p.BytesOut, dt)})
		for j := range c.Subs {
			s := &c.Subs[j]
			var then uint64
			if ps := subBefore[subKey{c.ID, s.SID}]; ps != nil {
				then = ps.Delivered
			}
			ss = append(ss, subRates{c: c, s: s, delivered: rate(s.Delivered, then, dt)})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := &cs[i], &cs[j]
		if a.msgs() != b.msgs() {
			return a.msgs() > b.msgs()
		}
		return a.c.ID < b.c.ID
	})
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := nanZero(ss[i].delivered), nanZero(ss[j].delivered)
		if a != b {
			return a > b
		}
		if ss[i].c.ID != ss[j].c.ID {
			return ss[i].c.ID < ss[j].c.ID
		}
		return ss[i].s.SID < ss[j].s.SID
	})
	return cs, ss
}

// renderTop writes one frame: a summary, the clients and the
// subscriptions, each busiest first, cut to width columns and height lines
// (0: no limit). readErr, when set, is the last read's failure: the frame
// shows cur and says why it is not newer.
func renderTop(w io.Writer, prev, cur *router.Snapshot, readErr error, now time.Time, width, height int) {
	cs, ss := topRates(prev, cur)
	var lines []string
	add := func(format string, a ...any) { lines = append(lines, fmt.Sprintf(format, a...)) }

	var in, out float64
	var nsubs int
	for i := range cs {
		in += nanZero(cs[i].msgsIn)
		out += nanZero(cs[i].msgsOut)
		nsubs += len(cs[i].c.Subs)
	}
	add("shmbus top  router pid %d  snapshot %.1fs old  (q quits)", cur.RouterPID, max(now.Sub(cur.Time).Seconds(), 0))
	add("%d clients  %d subscriptions  msgs/s in %s out %s  no subscriber %s", len(cur.Clients), nsubs, si(in), si(out),
		si(rate(cur.NoSubscriber, prev.NoSubscriber, span(prev, cur))))
	if readErr != nil {
		add("stats unavailable, showing the last snapshot: %v", readErr)
	}

	// 80 columns each.
	const clientFmt = "%6s %-16s %7s %7s %7s %7s %7s %6s %4s %4s"
	add("")
	add(clientFmt, "ID", "NAME", "PID", "IN/s", "OUT/s", "IN B/s", "OUT B/s", "DROPS", "IN%", "OUT%")
	clientRow := func(r *clientRates) string {
		return fmt.Sprintf(clientFmt, strconv.FormatUint(r.c.ID, 10), cut(orDash(r.c.Name), 16), strconv.Itoa(r.c.PID),
			si(r.msgsIn), si(r.msgsOut), si(r.bytesIn), si(r.bytesOut), si(float64(r.c.Dropped)),
			pct(r.c.InFill), pct(r.c.OutFill))
	}
	const subFmt = "%-20s %4s %-20s %-8s %7s %9s %6s"
	subRow := func(r *subRates) string {
		client := fmt.Sprintf("%s#%d", orDash(r.c.Name), r.c.ID)
		return fmt.Sprintf(subFmt, cut(client, 20), strconv.FormatUint(r.s.SID, 10), cut(r.s.Pattern, 20),
			cut(orDash(r.s.Group), 8), si(r.delivered), strconv.FormatUint(r.s.Delivered, 10), si(float64(r.s.Dropped)))
	}

	// Share the height: the subscriptions get up to a third of the rows
	// when the clients need more than is left.
	fixed := len(lines)
	if len(ss) > 0 {
		fixed += 2 // the blank line and the subscriptions' header
	}
	nc, ns := len(cs), len(ss)
	if height > 0 {
		budget := max(height-fixed, 0)
		ns = min(ns, max(budget/3, budget-nc))
		nc = min(nc, budget-ns)
		ns = min(len(ss), budget-nc)
	}
	for i := range cs[:nc] {
		if i == nc-1 && nc < len(cs) {
			add("%6s %d more clients", "...", len(cs)-i)
			break
		}
		lines = append(lines, clientRow(&cs[i]))
	}
	if ns > 0 {
		add("")
		add(subFmt, "CLIENT", "SID", "PATTERN", "GROUP", "MSG/s", "DELIVERED", "DROPS")
		for i := range ss[:ns] {
			if i == ns-1 && ns < len(ss) {
				add("... %d more subscriptions", len(ss)-i)
				break
			}
			lines = append(lines, subRow(&ss[i]))
		}
	}
	if height > 0 && len(lines) > height {
		lines = lines[:height]
	}
	for _, l := range lines {
		if width > 0 {
			l = cut(l, width)
		}
		fmt.Fprintln(w, strings.TrimRight(l, " "))
	}
}

// si formats a non-negative count with 3 significant digits and an SI
// suffix (k, M, G, T): 0, 999, 1.23k, 45.6M; "-" for NaN.
func si(v float64) string {
	switch {
	case math.IsNaN(v) || v < 0:
		return "-"
	case v < 999.5:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	for _, unit := range []string{"k", "M", "G", "T"} {
		v /= 1000
		if v < 999.5 || unit == "T" {
			return sig3(v) + unit
		}
	}
	return "-"
}

func pct(fill float64) string { return strconv.FormatFloat(100*fill, 'f', 0, 64) + "%" }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cut shortens s to n runes, marking a cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return string([]rune(s)[:n])
	}
	return string([]rune(s)[:n-1]) + "…"
}
