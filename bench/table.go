package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable prints results as two aligned tables, latency (microseconds)
// then throughput, each row with its references, ratios, the bracketing
// probe p50s and the placement; failures are listed last.
func WriteTable(w io.Writer, rs []*Result) error {
	var lat, tput, bad []*Result
	for _, r := range rs {
		switch {
		case r.Err != "":
			bad = append(bad, r)
		case r.Lat != nil:
			lat = append(lat, r)
		default:
			tput = append(tput, r)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if len(lat) > 0 {
		fmt.Fprintln(tw, "latency (round trip, us)\tp50\tp90\tp99\tp99.9\tmax\tn\tsys/rt\tvs\tratio\tprobe p50 before/after\tplacement\t")
		for _, r := range lat {
			s := r.Lat
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", r.Name,
				US(s.P50), US(s.P90), US(s.P99), US(s.P999), US(s.Max), s.Count,
				sysOp(r), refs(r), ratios(r, "%.2fx"), probes(r), r.Placement)
		}
	}
	if len(tput) > 0 {
		if len(lat) > 0 {
			fmt.Fprintln(tw, "\t\t\t\t\t\t\t\t\t\t\t\t")
		}
		fmt.Fprintln(tw, "throughput (one way)\tsize\tMmsgs/s\tGB/s\tmsgs\tsecs\tsys/msg\tvs\tratio\tprobe p50 before/after\tplacement\t")
		for _, r := range tput {
			fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%d\t%.3f\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Size,
				r.MsgsPerSec/1e6, r.BytesPerSec/1e9, r.Msgs, r.Elapsed.Seconds(),
				sysOp(r), refs(r), ratios(r, "%.2fx"), probes(r), r.Placement)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range bad {
		fmt.Fprintf(w, "FAILED %s: %s\n", r.Name, r.Err)
	}
	return nil
}

func sysOp(r *Result) string {
	if r.SyscallsPerOp < 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", r.SyscallsPerOp)
}

func refs(r *Result) string {
	if len(r.Refs) == 0 {
		return "-"
	}
	return strings.Join(r.Refs, ",")
}

func ratios(r *Result, format string) string {
	if len(r.Ratios) == 0 {
		return "-"
	}
	s := make([]string, len(r.Ratios))
	for i, x := range r.Ratios {
		if x == 0 {
			s[i] = "?"
		} else {
			s[i] = fmt.Sprintf(format, x)
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
