package router

import (
	"encoding/json"
	"time"
)

// periodic runs every 1024 loop iterations and whenever the loop idles:
// slow-consumer reports, and (at most every StatsEvery) alerts and stats.
func (l *loop) periodic() {
	if len(l.unrep) > 0 {
		l.report()
	}
	l.checkTimers() // queue timers: the wake-up timer's safety net
	now := time.Now()
	if now.Sub(l.lastTick) < l.r.cfg.StatsEvery {
		return
	}
	l.lastTick = now
	l.alerts()
	if l.stats != nil {
		l.stats.write(l.snapshot(now))
	}
}

// Alert is the body (JSON) of the events published on AlertTopic.
type Alert struct {
	Client uint64  `json:"client"`
	Name   string  `json:"name,omitempty"`
	Ring   string  `json:"ring"`  // "in" (client -> router) or "out" (router -> client)
	Fill   float64 `json:"fill"`  // 0..1
	State  string  `json:"state"` // "raised" or "cleared"
}

// AlertTopic is where ring high-water alerts are published.
const AlertTopic = "$SYS.alert.ring"

// alerts raises an alert when a ring passes the high-water mark and clears
// it when the ring has drained below half of it (hysteresis, so a ring
// hovering at the mark does not flap).
func (l *loop) alerts() {
	hw := l.r.cfg.HighWater
	for _, c := range l.clients {
		in := c.in.Stats()
		inFill := float64(in.Used()) / float64(in.Capacity)
		outCap := float64(c.seg.OutCap)
		outFill := (outCap - float64(c.out.Free())) / outCap
		l.alert(c, "in", inFill, hw, &c.alertIn)
		l.alert(c, "out", outFill, hw, &c.alertOut)
	}
}

func (l *loop) alert(c *client, which string, fill, hw float64, raised *bool) {
	var state string
	switch {
	case !*raised && fill >= hw:
		state = "raised"
	case *raised && fill < hw/2:
		state = "cleared"
	default:
		return
	}
	*raised = state == "raised"
	a := Alert{Client: c.id, Name: c.name, Ring: which, Fill: fill, State: state}
	l.r.cfg.Logger.Warn("ring high water", "client", c.id, "name", c.name, "ring", which, "fill", fill, "state", state)
	body, _ := json.Marshal(a)
	l.publishSystem(AlertTopic, body)
}
