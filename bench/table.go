package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteTable prints results as two aligned tables, latency (microseconds)
// then throughput, each row with its references, ratios, the bracketing
// probe p50s and the placement; failures are listed last.
func WriteTable(w io.Writer, rs []*Result) error {
	lat := [][]string{{"latency (us)", "p50", "p90", "p99", "p99.9", "p99.99", "max", "n", "rate", "sys/rt", "vs", "ratio", "probe p50 pre/post", "place"}}
	tput := [][]string{{"throughput (one way)", "size", "Mmsgs/s", "GB/s", "msgs", "secs", "sys/msg", "rtr ns/msg", "vs", "ratio", "probe p50 pre/post", "place"}}
	var bad []*Result
	for _, r := range rs {
		switch {
		case r.Err != "":
			bad = append(bad, r)
		case r.Lat != nil:
			s := r.Lat
			lat = append(lat, []string{r.Name, US(s.P50), US(s.P90), US(s.P99), US(s.P999), US(s.P9999), US(s.Max),
				fmt.Sprint(s.Count), rateOf(r), sysOp(r), refs(r), ratios(r), probes(r), r.Placement})
		default:
			tput = append(tput, []string{r.Name, fmt.Sprint(r.Size), fmt.Sprintf("%.2f", r.MsgsPerSec/1e6),
				fmt.Sprintf("%.2f", r.BytesPerSec/1e9), fmt.Sprint(r.Msgs), fmt.Sprintf("%.3f", r.Elapsed.Seconds()),
				sysOp(r), routerNs(r), refs(r), ratios(r), probes(r), r.Placement})
		}
	}
	var b strings.Builder
	if len(lat) > 1 {
		writeRows(&b, lat)
	}
	if len(tput) > 1 {
		if len(lat) > 1 {
			b.WriteByte('\n')
		}
		writeRows(&b, tput)
	}
	if len(lat)+len(tput) > 2 {
		b.WriteString(legend)
	}
	for _, r := range bad {
		fmt.Fprintf(&b, "FAILED %s: %s\n", r.Name, r.Err)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const legend = `
latency: round trips, except *.oneway (publish to delivery, one way) and bus.queue.prio
  (send to the consumer's handler, one way). rate: max = closed loop (every round trip
  timed from the end of the last); a number = sent at that fixed rate, msgs/s, every
  sample timed from its message's intended send time (no coordinated omission).
ratio: latency p50 / the reference's p50 (lower is better; "probe" = this row's own
  bracketing probes); throughput msgs/s / the reference's (higher is better); ? = not run.
sys/rt, sys/msg: futex syscalls of both processes (bus.*: every process on the path:
  clients and router) per round trip or delivered message; - = not counted.
rtr ns/msg: CPU time of the router's process per delivered message (bus.* pub/sub and
  queues, its idle spinning included).
bus.queue: messages acked per second, from the first send to the last ack.
place: near = probe p50 < 150 ns before and after; far = both above; mixed = one of each
  (nats.* and bus.* run unpinned: more processes than the two probed CPUs).
`

// writeRows aligns cells: the first column left, the others right.
func writeRows(b *strings.Builder, rows [][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		for i, c := range row {
			if i == 0 {
				fmt.Fprintf(b, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(b, "  %*s", width[i], c)
			}
		}
		b.WriteByte('\n')
	}
}

func sysOp(r *Result) string {
	if r.SyscallsPerOp < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", r.SyscallsPerOp)
}

func rateOf(r *Result) string {
	if r.Rate == 0 {
		return "max"
	}
	return fmt.Sprint(r.Rate)
}

func routerNs(r *Result) string {
	if r.RouterNsPerMsg == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", r.RouterNsPerMsg)
}

func refs(r *Result) string {
	if len(r.Refs) == 0 {
		return "-"
	}
	return strings.Join(r.Refs, ",")
}

func ratios(r *Result) string {
	if len(r.Ratios) == 0 {
		return "-"
	}
	s := make([]string, len(r.Ratios))
	for i, x := range r.Ratios {
		if x == 0 {
			s[i] = "?"
		} else {
			s[i] = fmt.Sprintf("%.2fx", x)
		}
	}
	return strings.Join(s, ",")
}

func probes(r *Result) string {
	if r.ProbeBefore == nil || r.ProbeAfter == nil {
		return "-"
	}
	return US(r.ProbeBefore.P50) + "/" + US(r.ProbeAfter.P50)
}
