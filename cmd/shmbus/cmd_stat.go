package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router"
)

func init() {
	register(&command{
		name:    "stat",
		summary: "show the router's clients, subscriptions, rates, drops and ring fill",
		run:     runStat,
	})
}

// runStat reads the router's stats segment twice, interval apart, and prints
// counters and rates. It never talks to the router.
func runStat(args []string) error {
	fs := flag.NewFlagSet("stat", flag.ContinueOnError)
	dir := fs.String("dir", ipc.DefaultDir, "bus directory")
	every := fs.Duration("interval", time.Second, "time between the two samples rates are computed from")
	asJSON := fs.Bool("json", false, "print the latest snapshot as JSON")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	first, err := router.ReadStats(*dir)
	if err != nil {
		return fmt.Errorf("stat: is a router running on %s? %w", *dir, err)
	}
	if *asJSON {
		e := json.NewEncoder(os.Stdout)
		e.SetIndent("", "  ")
		return e.Encode(first)
	}
	time.Sleep(*every)
	second, err := router.ReadStats(*dir)
	if err != nil {
		return err
	}
	dt := second.Time.Sub(first.Time).Seconds()
	prev := map[uint64]router.ClientStats{}
	for _, c := range first.Clients {
		prev[c.ID] = c
	}
	fmt.Printf("router pid %d, %d clients, %d messages with no subscriber\n", second.RouterPID, len(second.Clients), second.NoSubscriber)
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "id\tname\tpid\tmsgs in\tin/s\tmsgs out\tout/s\tdropped\trejected\tin fill\tout fill\t")
	for _, c := range second.Clients {
		p := prev[c.ID]
		rate := func(now, then uint64) string {
			if dt <= 0 || now < then {
				return "-"
			}
			return fmt.Sprintf("%.0f", float64(now-then)/dt)
		}
		fmt.Fprintf(w, "%d\t%s\t%d\t%d\t%s\t%d\t%s\t%d\t%d\t%.0f%%\t%.0f%%\t\n", c.ID, c.Name, c.PID,
			c.MsgsIn, rate(c.MsgsIn, p.MsgsIn), c.MsgsOut, rate(c.MsgsOut, p.MsgsOut), c.Dropped, c.Rejected, 100*c.InFill, 100*c.OutFill)
	}
	w.Flush()
	w = tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "\nclient\tsid\tpattern\tgroup\tdelivered\tdropped")
	for _, c := range second.Clients {
		for _, s := range c.Subs {
			fmt.Fprintf(w, "%d\t%d\t%s\t%s\t%d\t%d\n", c.ID, s.SID, s.Pattern, s.Group, s.Delivered, s.Dropped)
		}
	}
	return w.Flush()
}
