package router

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/ipc"
)

// The stats segment (ipc.KindCounters, named wire.CounterName) holds the
// latest snapshot of the router's counters as JSON, under a sequence lock,
// so any process can read it at any time without a word to the router:
//
//	+------------------+ 0
//	| seq u64          |  odd while the router writes
//	+------------------+ 8
//	| length u32       |
//	+------------------+ 16
//	| JSON snapshot    |  up to statsSize-16 bytes
//	+------------------+
const (
	statsSize   = 4 << 20
	statsSeqOff = 0
	statsLenOff = 8
	statsBody   = 16
)

// Snapshot is the router's state as the stats segment shows it.
type Snapshot struct {
	Time         time.Time     `json:"time"`
	RouterPID    int           `json:"router_pid"`
	NoSubscriber uint64        `json:"no_subscriber"` // messages published to no subscriber
	Expired      uint64        `json:"expired"`       // published already past their deadline: never delivered
	RouteTime    RouteTime     `json:"route_time"`    // the router's time per record, last interval
	Rules        int           `json:"rules"`         // routing rules in force
	RulesMatched uint64        `json:"rules_matched"` // messages some rule applied to
	RulesSkipped uint64        `json:"rules_skipped"` // rule actions skipped (invalid result, hop or copy limit)
	Clients      []ClientStats `json:"clients"`
	Queues       []QueueStats  `json:"queues,omitempty"` // qstats.go
}

// ClientStats are one connection's counters.
type ClientStats struct {
	ID       uint64     `json:"id"`
	Name     string     `json:"name,omitempty"`
	PID      int        `json:"pid"`
	MsgsIn   uint64     `json:"msgs_in"`
	BytesIn  uint64     `json:"bytes_in"`
	MsgsOut  uint64     `json:"msgs_out"`
	BytesOut uint64     `json:"bytes_out"`
	Dropped  uint64     `json:"dropped"`
	Rejected uint64     `json:"rejected"`
	Expired  uint64     `json:"expired"`
	InFill   float64    `json:"in_fill"`
	OutFill  float64    `json:"out_fill"`
	Subs     []SubStats `json:"subs,omitempty"`
	// Consumers are the client's queue consumers (qstats.go).
	Consumers []ConsumerStats `json:"consumers,omitempty"`
}

// SubStats are one subscription's counters.
type SubStats struct {
	SID       uint64 `json:"sid"`
	Pattern   string `json:"pattern"`
	Group     string `json:"group,omitempty"`
	Selector  string `json:"selector,omitempty"`
	Delivered uint64 `json:"delivered"`
	Dropped   uint64 `json:"dropped"`
	Filtered  uint64 `json:"filtered,omitempty"` // matched the pattern, refused by the selector
}

func (l *loop) snapshot(now time.Time) *Snapshot {
	s := &Snapshot{Time: now, RouterPID: ipc.Self().PID, NoSubscriber: l.noSubs, Expired: l.expired,
		RouteTime: l.rtime.window(), Rules: l.r.rules.Load().Len(), RulesMatched: l.ruleMatched, RulesSkipped: l.ruleSkipped}
	for _, c := range l.clients {
		in := c.in.Stats()
		cs := ClientStats{ID: c.id, Name: c.name, PID: c.proc.PID, MsgsIn: c.msgsIn, BytesIn: c.bytesIn,
			MsgsOut: c.msgsOut, BytesOut: c.bytesOut, Dropped: c.dropped, Rejected: c.rejected, Expired: c.expired,
			InFill:  float64(in.Used()) / float64(in.Capacity),
			OutFill: float64(c.seg.OutCap-c.out.Free()) / float64(c.seg.OutCap)}
		for _, sub := range c.subs {
			ss := SubStats{SID: sub.sid, Pattern: sub.pattern, Group: sub.Group, Delivered: sub.delivered, Dropped: sub.dropped, Filtered: sub.filtered}
			if sub.sel != nil {
				ss.Selector = sub.sel.Source()
			}
			cs.Subs = append(cs.Subs, ss)
		}
		sort.Slice(cs.Subs, func(i, j int) bool { return cs.Subs[i].SID < cs.Subs[j].SID })
		cs.Consumers = c.consumerStats()
		s.Clients = append(s.Clients, cs)
	}
	s.Queues = l.queueStats()
	return s
}

type statsWriter struct {
	seg *ipc.Segment
	seq *uint64
}

func newStatsWriter(r *Router) *statsWriter {
	ipc.Remove(r.cfg.Dir, wire.CounterName) // a previous router's; we hold the lock
	seg, err := ipc.Create(wire.CounterName, ipc.KindCounters, statsSize, r.cfg.ipcOpts()...)
	if err != nil {
		r.cfg.Logger.Error("stats segment: stats disabled", "err", err)
		return nil
	}
	return &statsWriter{seg: seg, seq: (*uint64)(unsafe.Pointer(&seg.Data()[statsSeqOff]))}
}

func (w *statsWriter) write(s *Snapshot) {
	if w == nil {
		return
	}
	b, err := json.Marshal(s)
	if err != nil || len(b) > statsSize-statsBody {
		return
	}
	d := w.seg.Data()
	// Sequence lock: odd while writing. The atomic adds order the body
	// writes between them for a reader that checks seq before and after.
	atomic.AddUint64(w.seq, 1)
	binary.LittleEndian.PutUint32(d[statsLenOff:], uint32(len(b)))
	copy(d[statsBody:], b)
	atomic.AddUint64(w.seq, 1)
}

func (w *statsWriter) close() {
	if w != nil {
		w.seg.Close()
	}
}

// ErrNoStats means no router has published stats in the directory.
var ErrNoStats = errors.New("shmbus: no router stats")

// ReadStats reads the latest snapshot from the stats segment in dir,
// without disturbing the router.
func ReadStats(dir string) (*Snapshot, error) {
	seg, err := ipc.Open(wire.CounterName, ipc.KindCounters, ipc.WithDir(dir))
	if err != nil {
		return nil, errors.Join(ErrNoStats, err)
	}
	defer seg.Close()
	d := seg.Data()
	seq := (*uint64)(unsafe.Pointer(&d[statsSeqOff]))
	for try := 0; try < 1000; try++ {
		s1 := atomic.LoadUint64(seq)
		if s1 == 0 {
			return nil, fmt.Errorf("stats segment is empty: %w", ErrNoStats)
		}
		if s1&1 != 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		n := binary.LittleEndian.Uint32(d[statsLenOff:])
		if int(n) > len(d)-statsBody {
			continue
		}
		b := append([]byte(nil), d[statsBody:statsBody+int(n)]...)
		if atomic.LoadUint64(seq) != s1 {
			continue
		}
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("stats snapshot: %v: %w", err, ErrNoStats)
		}
		return &s, nil
	}
	return nil, fmt.Errorf("stats segment kept changing: %w", ErrNoStats)
}
