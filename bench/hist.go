package bench

import (
	"fmt"
	"math"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: 1 ns .. 10 s at 3 significant digits.
const (
	histMin     = 1
	histMax     = int64(10 * time.Second)
	histSigFigs = 3
)

// Hist records latencies in nanoseconds. Record does not allocate.
// Values outside [1 ns, 10 s] are clamped, never dropped.
type Hist struct {
	h *hdrhistogram.Histogram
}

// NewHist returns an empty histogram.
func NewHist() *Hist {
	return &Hist{h: hdrhistogram.New(histMin, histMax, histSigFigs)}
}

// Record adds one sample of ns nanoseconds.
func (h *Hist) Record(ns int64) {
	if ns < histMin {
		ns = histMin
	} else if ns > histMax {
		ns = histMax
	}
	_ = h.h.RecordValue(ns) // cannot fail: ns is clamped into range
}

// Reset empties the histogram.
func (h *Hist) Reset() { h.h.Reset() }

// Count is the number of samples recorded.
func (h *Hist) Count() int64 { return h.h.TotalCount() }

// Summary returns the percentiles.
func (h *Hist) Summary() Summary {
	return Summary{
		Count: h.h.TotalCount(),
		P50:   h.h.ValueAtQuantile(50),
		P90:   h.h.ValueAtQuantile(90),
		P99:   h.h.ValueAtQuantile(99),
		P999:  h.h.ValueAtQuantile(99.9),
		P9999: h.h.ValueAtQuantile(99.99),
		Max:   h.h.Max(),
		Mean:  h.h.Mean(),
	}
}

// Summary is a histogram's percentiles, all in nanoseconds.
type Summary struct {
	Count int64   `json:"count"`
	P50   int64   `json:"p50_ns"`
	P90   int64   `json:"p90_ns"`
	P99   int64   `json:"p99_ns"`
	P999  int64   `json:"p999_ns"`
	P9999 int64   `json:"p9999_ns"`
	Max   int64   `json:"max_ns"`
	Mean  float64 `json:"mean_ns"`
}

// String formats the summary on one line, in microseconds.
func (s Summary) String() string {
	return fmt.Sprintf("p50=%s p90=%s p99=%s p99.9=%s p99.99=%s max=%s n=%d",
		US(s.P50), US(s.P90), US(s.P99), US(s.P999), US(s.P9999), US(s.Max), s.Count)
}

// DistPoint is one point of a latency percentile distribution: the value
// at quantile Q (0 <= Q < 1), or, with Q == 1, the largest sample.
type DistPoint struct {
	Q  float64 `json:"q"`
	NS int64   `json:"ns"`
}

// distStep is the spacing of Distribution's points on its log scale: ten
// points per decade of 1/(1-Q) (90%, 99%, 99.9%, ...).
const distStep = 0.1

// Distribution is the histogram's percentile distribution in the shape
// HdrHistogram plots it: the value at Q = 1 - 10^-x for x = 0, 0.1, 0.2,
// ... as long as the samples resolve that quantile (10^x <= count), then
// the maximum (Q = 1). Empty when nothing was recorded.
func (h *Hist) Distribution() []DistPoint {
	n := h.h.TotalCount()
	if n == 0 {
		return nil
	}
	var d []DistPoint
	for i := 0; ; i++ {
		x := float64(i) * distStep
		if math.Pow(10, x) > float64(n) {
			break
		}
		q := 1 - math.Pow(10, -x)
		d = append(d, DistPoint{Q: q, NS: h.h.ValueAtQuantile(100 * q)})
	}
	return append(d, DistPoint{Q: 1, NS: h.h.Max()})
}

// DistX is where a distribution point lies on the log scale of
// 1/(1-Q): 0 for the median's side of the curve, 2 for p99, 3 for
// p99.9; the maximum (Q == 1) is placed at the last sample, log10(count).
func DistX(q float64, count int64) float64 {
	if q >= 1 || 1-q < 1/float64(max(count, 1)) {
		return math.Log10(float64(max(count, 1)))
	}
	return -math.Log10(1 - q)
}

// US formats nanoseconds as microseconds with a precision that suits the
// magnitude: 0.062, 1.84, 45.1, 1203.
func US(ns int64) string {
	us := float64(ns) / 1e3
	switch {
	case us < 1:
		return fmt.Sprintf("%.3f", us)
	case us < 10:
		return fmt.Sprintf("%.2f", us)
	case us < 1000:
		return fmt.Sprintf("%.1f", us)
	default:
		return fmt.Sprintf("%.0f", us)
	}
}
