package main

import (
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/shmbus/shmbus/persist"
)

func init() {
	register(&command{
		name:    "journal",
		summary: "verify, dump, describe or compact a write-behind journal directory",
		run:     func(args []string) error { return runJournal(args, os.Stdout) },
	})
}

// runJournal is `shmbus journal verify|dump|stat|compact DIR`. verify, dump
// and stat only read; compact opens the journal (recovering it) and
// rewrites it.
func runJournal(args []string, out io.Writer) error {
	fs := newFlagSet("journal", "verify|dump|stat|compact DIR",
		"verify: check every record's framing and checksum (exit 1 on problems)\n"+
			"dump: print every record readably\n"+
			"stat: segments, bytes, records, live queue messages\n"+
			"compact: compact a queue journal, compress sealed segments")
	maxPayload := fs.Int("max-payload", 64, "dump: payload bytes shown per record")
	codec := fs.String("codec", persist.DefaultCodec.String(), "compact: codec for sealed segments (none, zstd, s2)")
	ratio := fs.Float64("ratio", persist.DefaultCompactRatio, "compact: settled fraction at which a queue segment is rewritten")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return errUsage
	}
	verb, dir := fs.Arg(0), fs.Arg(1)
	switch verb {
	case "verify":
		rep, err := persist.Verify(dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d segments, %d records, %d bytes\n", dir, len(rep.Segments), rep.Records, rep.Bytes)
		for _, p := range rep.Problems {
			fmt.Fprintf(out, "problem: %s\n", p)
		}
		if !rep.OK() {
			return fmt.Errorf("%d problems", len(rep.Problems))
		}
		fmt.Fprintln(out, "ok")
		return nil
	case "dump":
		return persist.Dump(dir, out, *maxPayload)
	case "stat":
		rep, err := persist.Stat(dir)
		if err != nil {
			return err
		}
		printJournalStat(out, rep)
		return nil
	case "compact":
		c, err := persist.ParseCodec(*codec)
		if err != nil {
			return err
		}
		st, err := persist.Compact(dir, persist.WithCompression(c), persist.WithCompactRatio(*ratio))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: %d segments examined, %d deleted, %d rewritten, %d records dropped, %d bytes freed\n",
			dir, st.Segments, st.Deleted, st.Rewritten, st.Dropped, st.Bytes)
		return nil
	}
	fmt.Fprintf(fs.Output(), "shmbus journal: unknown action %q\n", verb)
	fs.Usage()
	return errUsage
}

func printJournalStat(out io.Writer, rep *persist.Report) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tcodec\tfile bytes\traw bytes\trecords\tfirst seq\tlast seq\tlive\tlast time\t")
	for _, s := range rep.Segments {
		last := "-"
		if s.LastTime != 0 {
			last = time.Unix(0, s.LastTime).UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", s.Base, s.Codec, s.FileBytes, s.RawBytes, s.Records, s.FirstSeq, s.LastSeq, s.Live, last)
	}
	tw.Flush()
	kind := "log"
	if rep.Queue {
		kind = "queue"
	}
	fmt.Fprintf(out, "%s journal: %d segments, %d records, %d bytes, %d live, %d problems\n",
		kind, len(rep.Segments), rep.Records, rep.Bytes, rep.Live, len(rep.Problems))
}
