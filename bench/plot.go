package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// The plot (shmbus bench -plot FILE.svg): one SVG, one panel per group
// (groups.go) that has results, stacked.
//
//   - Latency panels draw each result's percentile distribution the way
//     HdrHistogram does: x is 1/(1-percentile) on a log scale (ticks 0%,
//     90%, 99%, 99.9%, ...), so the tail gets the room; y is the latency,
//     log scale. shmbus's curves are solid, its peers' dashed.
//   - Throughput panels draw one bar per result, msgs/s on a log scale,
//     labelled with the rate and the ratio to its first reference.
//
// Every curve and bar is a <g class="series"> or <g class="bar"> with a
// data-name attribute (the result's name) and a <title> (its tooltip).

const (
	plotW      = 980 // SVG width
	plotPad    = 16  // outer margin
	panelGap   = 24  // between panels
	latH       = 300 // latency panel height, title included
	latLeft    = 70  // room for the y labels
	latLegendW = 330 // legend to the right of the curves
	barRow     = 20  // one bar
	barLabelW  = 210 // bar names
	barTextW   = 270 // value and ratio after the longest bar
	titleH     = 22
	axisH      = 34 // x tick labels under a panel
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"}

// WritePlot draws rs as an SVG document with title on top. Failed results
// and results in no group are left out; with nothing to draw it still
// writes a valid document saying so.
func WritePlot(w io.Writer, rs []*Result, title string) error {
	var body bytes.Buffer
	y := plotPad + 28
	for _, g := range Groups {
		ms := g.members(rs)
		if len(ms) == 0 {
			continue
		}
		if g.Latency {
			y += latencyPanel(&body, g.Title, ms, y) + panelGap
		} else {
			y += barPanel(&body, g.Title, ms, y) + panelGap
		}
	}
	if body.Len() == 0 {
		text(&body, plotPad, y+14, "start", "", "nothing to plot: no latency or throughput results of the plotted groups")
		y += 30
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		plotW, y+plotPad, plotW, y+plotPad)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	text(&b, plotPad, plotPad+14, "start", `font-size="15" font-weight="bold"`, title)
	b.Write(body.Bytes())
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// latencyPanel draws one latency panel at top and returns its height.
func latencyPanel(b *bytes.Buffer, title string, rs []*Result, top int) int {
	text(b, plotPad, top+14, "start", `font-size="13" font-weight="bold"`, title)
	x0, x1 := plotPad+latLeft, plotW-plotPad-latLegendW
	y0, y1 := top+titleH+6, top+latH-axisH
	// Axes: x from 0 (the median's side) to the largest 1/(1-q) decade
	// drawn; y over the decades the values span.
	xmax, lo, hi := 2.0, math.Inf(1), math.Inf(-1)
	for _, r := range rs {
		for _, p := range r.Dist {
			xmax = max(xmax, DistX(p.Q, r.Lat.Count))
			lo, hi = min(lo, float64(max(p.NS, 1))), max(hi, float64(max(p.NS, 1)))
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	xmax = math.Ceil(xmax)
	ylo, yhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if yhi <= ylo {
		yhi = ylo + 1
	}
	px := func(x float64) float64 { return float64(x0) + x/xmax*float64(x1-x0) }
	py := func(ns float64) float64 {
		return float64(y1) - (math.Log10(max(ns, 1))-ylo)/(yhi-ylo)*float64(y1-y0)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", x0, y0, x1-x0, y1-y0)
	for k := 0; k <= int(xmax); k++ {
		x := px(float64(k))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x, y0, x, y1)
		text(b, int(x), y1+14, "middle", "", percentLabel(k))
	}
	text(b, (x0+x1)/2, y1+28, "middle", `fill="#555"`, "percentile (log scale of 1/(1-p))")
	for d := ylo; d <= yhi; d++ {
		y := py(math.Pow(10, d))
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", x0, y, x1, y)
		text(b, x0-6, int(y)+4, "end", "", nsLabel(math.Pow(10, d)))
	}
	lx := x1 + 16
	for i, r := range rs {
		color := palette[i%len(palette)]
		style := `stroke-width="2"`
		if !isShmbus(r.Name) {
			style = `stroke-width="1.5" stroke-dasharray="6 3"`
		}
		var pts strings.Builder
		for _, p := range r.Dist {
			fmt.Fprintf(&pts, "%.1f,%.1f ", px(DistX(p.Q, r.Lat.Count)), py(float64(p.NS)))
		}
		s := r.Lat
		tip := fmt.Sprintf("%s: p50 %s, p99 %s, p99.9 %s, p99.99 %s, max %s us, n %d, rate %s",
			r.Name, US(s.P50), US(s.P99), US(s.P999), US(s.P9999), US(s.Max), s.Count, rateOf(r))
		fmt.Fprintf(b, `<g class="series" data-name="%s"><title>%s</title>`, esc(r.Name), esc(tip))
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" %s points="%s"/>`, color, style, strings.TrimSpace(pts.String()))
		ly := y0 + 8 + i*16
		fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" %s/>`, lx, ly, lx+24, ly, color, style)
		text(b, lx+30, ly+4, "start", "", fmt.Sprintf("%s  p50 %s  p99.9 %s us", r.Name, US(s.P50), US(s.P999)))
		b.WriteString("</g>\n")
	}
	return latH
}

// barPanel draws one throughput panel at top and returns its height.
func barPanel(b *bytes.Buffer, title string, rs []*Result, top int) int {
	text(b, plotPad, top+14, "start", `font-size="13" font-weight="bold"`, title)
	x0, x1 := plotPad+barLabelW, plotW-plotPad-barTextW
	y0 := top + titleH + 4
	y1 := y0 + len(rs)*barRow
	lo, hi := math.Inf(1), 1.0
	for _, r := range rs {
		if r.MsgsPerSec > 0 {
			lo, hi = min(lo, r.MsgsPerSec), max(hi, r.MsgsPerSec)
		}
	}
	if math.IsInf(lo, 1) {
		lo = 1
	}
	dlo, dhi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dhi <= dlo {
		dhi = dlo + 1
	}
	px := func(v float64) float64 {
		return float64(x0) + (math.Log10(max(v, 1))-dlo)/(dhi-dlo)*float64(x1-x0)
	}
	for d := dlo; d <= dhi; d++ {
		x := px(math.Pow(10, d))
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x, y0, x, y1)
		text(b, int(x), y1+14, "middle", "", rateLabel(math.Pow(10, d)))
	}
	text(b, (x0+x1)/2, y1+28, "middle", `fill="#555"`, "messages per second (log scale; shmbus blue, references grey)")
	for i, r := range rs {
		y := y0 + i*barRow
		color := "#9aa3ad"
		if isShmbus(r.Name) {
			color = "#1f77b4"
		}
		w := max(px(r.MsgsPerSec)-float64(x0), 2)
		label := rateLabel(r.MsgsPerSec)
		if len(r.Ratios) > 0 && r.Ratios[0] > 0 {
			label += fmt.Sprintf("  %.2fx %s", r.Ratios[0], r.Refs[0])
		}
		tip := fmt.Sprintf("%s: %.0f msgs/s, %.2f GB/s, %d B", r.Name, r.MsgsPerSec, r.BytesPerSec/1e9, r.Size)
		fmt.Fprintf(b, `<g class="bar" data-name="%s"><title>%s</title>`, esc(r.Name), esc(tip))
		text(b, x0-6, y+14, "end", "", r.Name)
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`, x0, y+3, w, barRow-6, color)
		text(b, x0+int(w)+6, y+14, "start", "", label)
		b.WriteString("</g>\n")
	}
	return y1 - top + axisH
}

// text writes a <text> element; extra is more attributes, written as is.
func text(b *bytes.Buffer, x, y int, anchor, extra, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, extra, esc(s))
}

// esc escapes s for XML character data and (double-quoted) attribute
// values.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // writes to a strings.Builder: cannot fail
	return b.String()
}

// percentLabel names the x tick k of a latency panel: 1 - 10^-k as a
// percentage (0%, 90%, 99%, 99.9%, ...).
func percentLabel(k int) string {
	switch k {
	case 0:
		return "0%"
	case 1:
		return "90%"
	case 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}

// nsLabel formats a power of ten of nanoseconds: 100ns, 1us, 10ms, 1s.
func nsLabel(ns float64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.0fus", ns/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.0fms", ns/1e6)
	}
	return fmt.Sprintf("%.0fs", ns/1e9)
}

// rateLabel formats msgs/s with a k, M or G suffix.
func rateLabel(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gG/s", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk/s", v/1e3)
	}
	return fmt.Sprintf("%.3g/s", v)
}
