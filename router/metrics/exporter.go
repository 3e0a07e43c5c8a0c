package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sys/unix"

	"github.com/shmbus/shmbus/ipc"
	"github.com/shmbus/shmbus/router"
)

// Sentinel errors.
var (
	// ErrStale means the router's snapshot has not been refreshed for
	// longer than the stale limit: its event loop is stuck or gone.
	ErrStale = errors.New("shmbus: router stats are stale")
	// ErrRouterGone means the process that wrote the snapshot has exited.
	ErrRouterGone = errors.New("shmbus: router process is gone")
	// ErrInvalidOption is wrapped by the errors of invalid options.
	ErrInvalidOption = errors.New("shmbus: invalid metrics option")
)

// DefaultStaleAfter is how old a snapshot may be before the router counts
// as down, unless WithStaleAfter says otherwise: twenty times the router's
// default refresh interval (100 ms), and its longest park (100 ms) included.
const DefaultStaleAfter = 2 * time.Second

// Option configures an Exporter.
type Option func(*Exporter) error

// WithStaleAfter sets how old the router's snapshot may be before the
// router counts as down (shmbus_router_up 0, /healthz 503). Give it a good
// margin over the router's Config.StatsEvery.
func WithStaleAfter(d time.Duration) Option {
	return func(e *Exporter) error {
		if d <= 0 {
			return fmt.Errorf("stale limit %v: want > 0: %w", d, ErrInvalidOption)
		}
		e.staleAfter = d
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(e *Exporter) error {
		if l == nil {
			return fmt.Errorf("nil logger: %w", ErrInvalidOption)
		}
		e.log = l
		return nil
	}
}

// WithSource replaces router.ReadStats(dir) as the source of snapshots;
// for tests and for snapshots that come from elsewhere.
func WithSource(read func() (*router.Snapshot, error)) Option {
	return func(e *Exporter) error {
		if read == nil {
			return fmt.Errorf("nil source: %w", ErrInvalidOption)
		}
		e.read = read
		return nil
	}
}

// Exporter is a prometheus.Collector of a router's counters, read from its
// stats snapshot at collection time. It is safe for concurrent use.
type Exporter struct {
	dir        string
	read       func() (*router.Snapshot, error)
	staleAfter time.Duration
	log        *slog.Logger
	build      prometheus.Metric

	mu       sync.Mutex
	lastTime time.Time // Time of the last snapshot seen
	bornAt   time.Time // when it was taken, on this process's monotonic clock
}

// NewExporter returns an exporter of the router serving the bus directory
// dir (ipc.DefaultDir when empty).
func NewExporter(dir string, opts ...Option) (*Exporter, error) {
	if dir == "" {
		dir = ipc.DefaultDir
	}
	e := &Exporter{dir: dir, staleAfter: DefaultStaleAfter, log: slog.Default()}
	e.read = func() (*router.Snapshot, error) { return router.ReadStats(e.dir) }
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	version, revision, goVersion := buildInfo()
	e.build = prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, version, revision, goVersion)
	return e, nil
}

// Dir is the bus directory the exporter reads.
func (e *Exporter) Dir() string { return e.dir }

// Snapshot reads the router's latest snapshot and says how old it is.
func (e *Exporter) Snapshot() (*router.Snapshot, time.Duration, error) {
	s, err := e.read()
	if err != nil {
		return nil, 0, err
	}
	return s, e.age(s, time.Now()), nil
}

// age is how old s is. The first time a snapshot is seen its age is read
// off the wall clock (s.Time carries no monotonic reading across
// processes); from then on, while the router does not replace it, the age
// grows by this process's monotonic clock, which a clock step cannot fool.
func (e *Exporter) age(s *router.Snapshot, now time.Time) time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.bornAt.IsZero() || !s.Time.Equal(e.lastTime) {
		wall := max(now.Round(0).Sub(s.Time), 0)
		e.lastTime, e.bornAt = s.Time, now.Add(-wall)
	}
	return now.Sub(e.bornAt)
}

// Check says whether the router is alive: its snapshot readable, fresh,
// and its process still there. The error says why not.
func (e *Exporter) Check() error {
	s, age, err := e.Snapshot()
	if err != nil {
		return err
	}
	return e.check(s, age)
}

func (e *Exporter) check(s *router.Snapshot, age time.Duration) error {
	if s.RouterPID > 0 && unix.Kill(s.RouterPID, 0) == unix.ESRCH {
		return fmt.Errorf("router pid %d: %w", s.RouterPID, ErrRouterGone)
	}
	if age > e.staleAfter {
		return fmt.Errorf("snapshot %.1fs old (limit %v): %w", age.Seconds(), e.staleAfter, ErrStale)
	}
	return nil
}

// The metrics. docs/operations.md ("Metrics") describes each one: keep it
// in step.
var (
	clientLabels = []string{"client", "id"}
	subLabels    = []string{"client", "id", "sid", "pattern", "group"}

	descBuildInfo = prometheus.NewDesc("shmbus_build_info",
		"Always 1; the labels say which shmbus build exports the metrics.", []string{"version", "revision", "goversion"}, nil)
	descUp = prometheus.NewDesc("shmbus_router_up",
		"1 when the router's stats snapshot is readable, fresh and its process alive; 0 otherwise.", nil, nil)
	descAge = prometheus.NewDesc("shmbus_router_stats_age_seconds",
		"How old the router's stats snapshot is.", nil, nil)
	descRouterInfo = prometheus.NewDesc("shmbus_router_info",
		"Always 1; the labels describe the router that wrote the snapshot.", []string{"pid", "dir"}, nil)
	descClients = prometheus.NewDesc("shmbus_clients",
		"Connected clients.", nil, nil)
	descSubs = prometheus.NewDesc("shmbus_subscriptions",
		"Subscriptions of all connected clients.", nil, nil)
	descNoSub = prometheus.NewDesc("shmbus_messages_no_subscriber_total",
		"Messages published to a topic no subscription matched.", nil, nil)

	descExpired = prometheus.NewDesc("shmbus_messages_expired_total",
		"Messages published already past their deadline (TTL): never routed.", nil, nil)
	descRules = prometheus.NewDesc("shmbus_rules",
		"Routing rules in force.", nil, nil)
	descRulesMatched = prometheus.NewDesc("shmbus_rules_matched_messages_total",
		"Published messages some routing rule applied to.", nil, nil)
	descRulesSkipped = prometheus.NewDesc("shmbus_rules_skipped_actions_total",
		"Routing rule actions not taken (invalid result, hop or copy limit).", nil, nil)
	descRouteTime = prometheus.NewDesc("shmbus_router_route_seconds",
		"The router's time per record read from a client ring (sampled), over the last stats interval, by quantile.",
		[]string{"quantile"}, nil)

	descClientInfo = prometheus.NewDesc("shmbus_client_info",
		"Always 1 per connected client; pid is its process.", []string{"client", "id", "pid"}, nil)
	descMsgsIn = prometheus.NewDesc("shmbus_client_messages_in_total",
		"Messages the client published (taken by the router from its ring).", clientLabels, nil)
	descBytesIn = prometheus.NewDesc("shmbus_client_bytes_in_total",
		"Payload bytes of the messages the client published.", clientLabels, nil)
	descMsgsOut = prometheus.NewDesc("shmbus_client_messages_out_total",
		"Messages the router delivered to the client.", clientLabels, nil)
	descBytesOut = prometheus.NewDesc("shmbus_client_bytes_out_total",
		"Bytes of the message frames (fixed header, topics, headers, payload) delivered to the client.", clientLabels, nil)
	descDropped = prometheus.NewDesc("shmbus_client_dropped_total",
		"Messages the router dropped for the client because its ring had no room.", clientLabels, nil)
	descRejected = prometheus.NewDesc("shmbus_client_rejected_total",
		"Records from the client the router rejected as invalid.", clientLabels, nil)
	descFill = prometheus.NewDesc("shmbus_ring_fill_ratio",
		"How full a client's ring is, 0 to 1: ring=\"in\" (client to router) or \"out\" (router to client).",
		[]string{"client", "id", "ring"}, nil)

	descSubDelivered = prometheus.NewDesc("shmbus_subscription_delivered_total",
		"Messages delivered to the subscription.", subLabels, nil)
	descSubDropped = prometheus.NewDesc("shmbus_subscription_dropped_total",
		"Messages the subscription lost because its client's ring had no room.", subLabels, nil)
	descSubFiltered = prometheus.NewDesc("shmbus_subscription_filtered_total",
		"Messages that matched the subscription's pattern and that its selector refused (never sent).", subLabels, nil)

	allDescs = []*prometheus.Desc{descBuildInfo, descUp, descAge, descRouterInfo, descClients, descSubs, descNoSub,
		descClientInfo, descMsgsIn, descBytesIn, descMsgsOut, descBytesOut, descDropped, descRejected, descFill,
		descSubDelivered, descSubDropped, descSubFiltered, descExpired, descRules, descRulesMatched, descRulesSkipped, descRouteTime}
)

// Describe sends the descriptors of every metric Collect may send.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
	for _, d := range queueDescs { // queues.go
		ch <- d
	}
}

// Collect reads the router's snapshot and sends its counters. Without a
// snapshot it sends only shmbus_build_info and shmbus_router_up 0.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ch <- e.build
	s, age, err := e.Snapshot()
	if err != nil {
		e.log.Debug("metrics: no router stats", "dir", e.dir, "err", err)
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	up := 1.0
	if err := e.check(s, age); err != nil {
		e.log.Debug("metrics: router down", "dir", e.dir, "err", err)
		up = 0
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { send(ch, d, prometheus.GaugeValue, v, labels) }
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		send(ch, d, prometheus.CounterValue, float64(v), labels)
	}
	gauge(descUp, up)
	gauge(descAge, age.Seconds())
	gauge(descRouterInfo, 1, strconv.Itoa(s.RouterPID), e.dir)
	gauge(descClients, float64(len(s.Clients)))
	counter(descNoSub, s.NoSubscriber)
	counter(descExpired, s.Expired)
	gauge(descRules, float64(s.Rules))
	counter(descRulesMatched, s.RulesMatched)
	counter(descRulesSkipped, s.RulesSkipped)
	if rt := s.RouteTime; rt.Samples > 0 {
		for _, q := range []struct {
			q  string
			ns int64
		}{{"0.5", rt.P50}, {"0.9", rt.P90}, {"0.99", rt.P99}, {"0.999", rt.P999}, {"1", rt.Max}} {
			gauge(descRouteTime, float64(q.ns)/1e9, q.q)
		}
	}
	subs := 0
	for i := range s.Clients {
		c := &s.Clients[i]
		id := strconv.FormatUint(c.ID, 10)
		gauge(descClientInfo, 1, c.Name, id, strconv.Itoa(c.PID))
		counter(descMsgsIn, c.MsgsIn, c.Name, id)
		counter(descBytesIn, c.BytesIn, c.Name, id)
		counter(descMsgsOut, c.MsgsOut, c.Name, id)
		counter(descBytesOut, c.BytesOut, c.Name, id)
		counter(descDropped, c.Dropped, c.Name, id)
		counter(descRejected, c.Rejected, c.Name, id)
		gauge(descFill, c.InFill, c.Name, id, "in")
		gauge(descFill, c.OutFill, c.Name, id, "out")
		for _, sub := range c.Subs {
			sid := strconv.FormatUint(sub.SID, 10)
			counter(descSubDelivered, sub.Delivered, c.Name, id, sid, sub.Pattern, sub.Group)
			counter(descSubDropped, sub.Dropped, c.Name, id, sid, sub.Pattern, sub.Group)
			counter(descSubFiltered, sub.Filtered, c.Name, id, sid, sub.Pattern, sub.Group)
		}
		subs += len(c.Subs)
	}
	gauge(descSubs, float64(subs))
	collectQueues(ch, s) // queues.go
}

// send sends one sample. Label values come from clients (names): one that
// is not UTF-8 is mended, and a sample that still cannot be built fails
// the scrape's gathering of it (promhttp reports it), never the process.
func send(ch chan<- prometheus.Metric, d *prometheus.Desc, typ prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	m, err := prometheus.NewConstMetric(d, typ, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// buildInfo is the main module's version, its VCS revision and the Go
// version, from the binary's build information.
func buildInfo() (version, revision, goVersion string) {
	version, revision, goVersion = "unknown", "unknown", "unknown"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	goVersion = bi.GoVersion
	if bi.Main.Version != "" {
		version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return
}
