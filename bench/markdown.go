package bench

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Markdown output (shmbus bench -markdown FILE): the results as tables,
// one per group (groups.go) and one for the rest, written into FILE
// between two marker lines. Everything outside the markers is prose
// written by hand and is kept as it is.

// The marker lines around the generated section.
const (
	MarkBegin = "<!-- bench:begin -->"
	MarkEnd   = "<!-- bench:end -->"
)

// ErrMarkers is returned for a document whose markers are not one
// MarkBegin line followed by one MarkEnd line.
var ErrMarkers = errors.New("bench: markers out of order or repeated")

// WriteMarkdown writes rs as markdown tables: a latency table (microseconds)
// or a throughput table per group, then the results no group holds, then
// the failures, after a legend.
func WriteMarkdown(w io.Writer, rs []*Result) error {
	var b strings.Builder
	b.WriteString(mdLegend)
	table := func(title string, latency bool, ms []*Result) {
		if len(ms) == 0 {
			return
		}
		fmt.Fprintf(&b, "### %s\n\n", title)
		if latency {
			b.WriteString("| benchmark | rate (msgs/s) | p50 (us) | p90 | p99 | p99.9 | p99.99 | max | n | vs (ratio of p50) | place |\n")
			b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
			for _, r := range ms {
				s := r.Lat
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", mdName(r), rateOf(r),
					US(s.P50), US(s.P90), US(s.P99), US(s.P999), US(s.P9999), US(s.Max), s.Count, mdVs(r), r.Placement)
			}
		} else {
			b.WriteString("| benchmark | size (B) | Mmsgs/s | GB/s | router CPU ns/msg | vs (ratio of msgs/s) | place |\n")
			b.WriteString("|---|---:|---:|---:|---:|---|---|\n")
			for _, r := range ms {
				fmt.Fprintf(&b, "| %s | %d | %.3f | %.3f | %s | %s | %s |\n", mdName(r), r.Size, r.MsgsPerSec/1e6,
					r.BytesPerSec/1e9, routerNs(r), mdVs(r), r.Placement)
			}
		}
		b.WriteString("\n")
	}
	for _, g := range Groups {
		table(g.Title, g.Latency, g.members(rs))
	}
	var lat, tput []*Result
	for _, r := range ungrouped(rs) {
		if r.Lat != nil {
			lat = append(lat, r)
		} else {
			tput = append(tput, r)
		}
	}
	table("Other latencies", true, lat)
	table("Other throughputs", false, tput)
	for _, r := range rs {
		if r.Err != "" {
			fmt.Fprintf(&b, "- **FAILED** `%s`: %s\n", r.Name, strings.ReplaceAll(r.Err, "|", `\|`))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

const mdLegend = `Latencies in microseconds: round trips, except ` + "`*.oneway`" + ` (publish to
delivery, one way) and ` + "`bus.queue.prio`" + ` (send to the consumer's handler, one
way). Rate max: closed loop; a number: sent at that fixed rate, every sample
timed from its message's intended send time. Queue throughput
(` + "`bus.queue`" + `): messages acked per second. Ratios: latency p50 over the
reference's (lower is better), throughput over the reference's (higher is
better); ? = the reference did not run. Router CPU: the router process's CPU
time per delivered message. place: near when the cache-line probe taken
before and after the row had p50 < 150 ns, far when both were above, mixed
otherwise. shmbus's own rows are in bold.

`

// mdName is a result's name in a table cell: shmbus's own in bold.
func mdName(r *Result) string {
	if isShmbus(r.Name) {
		return "**`" + r.Name + "`**"
	}
	return "`" + r.Name + "`"
}

// mdVs lists the references with the ratio to each.
func mdVs(r *Result) string {
	if len(r.Refs) == 0 {
		return ""
	}
	parts := make([]string, len(r.Refs))
	for i, ref := range r.Refs {
		x := "?"
		if i < len(r.Ratios) && r.Ratios[i] > 0 {
			x = fmt.Sprintf("%.2fx", r.Ratios[i])
		}
		parts[i] = fmt.Sprintf("%s %s", x, ref)
	}
	return strings.Join(parts, ", ")
}

// ReplaceSection returns doc with the lines between its MarkBegin and
// MarkEnd lines replaced by section. A doc without markers gets them,
// around section, at its end. Everything else in doc is kept byte for
// byte.
func ReplaceSection(doc, section string) (string, error) {
	begin, end := markerLines(doc, MarkBegin), markerLines(doc, MarkEnd)
	body := "\n" + strings.TrimRight(section, "\n") + "\n\n"
	switch {
	case len(begin) == 0 && len(end) == 0:
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		return doc + "\n" + MarkBegin + "\n" + body + MarkEnd + "\n", nil
	case len(begin) != 1 || len(end) != 1 || end[0] < begin[0]:
		return "", fmt.Errorf("%w: %d %q and %d %q lines", ErrMarkers, len(begin), MarkBegin, len(end), MarkEnd)
	}
	from := begin[0] + len(MarkBegin)
	if from < len(doc) && doc[from] == '\n' {
		from++
	}
	return doc[:from] + body + doc[end[0]:], nil
}

// markerLines returns the offsets of the lines of doc that are exactly
// marker (trailing space and a carriage return aside).
func markerLines(doc, marker string) []int {
	var at []int
	for off := 0; off < len(doc); {
		line := doc[off:]
		if i := strings.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		if strings.TrimRight(line, " \t\r") == marker {
			at = append(at, off)
		}
		off += len(line) + 1
	}
	return at
}

// UpdateMarkdownFile rewrites the generated section of the markdown file
// at path (ReplaceSection), atomically: a temporary file in the same
// directory renamed over it, with the file's permissions.
func UpdateMarkdownFile(path, section string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc, err := ReplaceSection(string(old), section)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing left to remove
	if _, err := tmp.WriteString(doc); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Chmod(st.Mode().Perm()), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
