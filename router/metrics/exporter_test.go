package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shmbus/shmbus/bus"
	"github.com/shmbus/shmbus/internal/wire"
	"github.com/shmbus/shmbus/router"
	"github.com/shmbus/shmbus/router/metrics"
)

// waitLimit bounds every wait: a limit on a loop, not a timing assertion.
const waitLimit = 10 * time.Second

var quiet = slog.New(slog.DiscardHandler)

func startRouter(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	r, err := router.New(router.Config{Dir: dir, Logger: quiet, StatsEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	if err := r.Start(); err != nil {
		r.Close()
		t.Fatalf("router Start: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return dir
}

func serve(t *testing.T, e *metrics.Exporter) *metrics.Server {
	t.Helper()
	srv, err := metrics.Serve("127.0.0.1:0", e)
	if err != nil {
		t.Fatalf("Serve: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return srv
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// families is one scrape, parsed.
type families map[string]*dto.MetricFamily

func scrape(t *testing.T, srv *metrics.Server) families {
	t.Helper()
	code, body := get(t, srv.URL()+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: status %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return mfs
}

// get is the value of the one series of name whose labels include want
// ("k=v" each); ok is false when there is none.
func (f families) get(name string, want ...string) (v float64, ok bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	n := 0
	for _, m := range mf.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		n++
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Untyped != nil:
			v = m.Untyped.GetValue()
		}
	}
	return v, n == 1
}

func hasLabels(m *dto.Metric, want []string) bool {
	have := map[string]string{}
	for _, l := range m.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for _, kv := range want {
		k, v, _ := strings.Cut(kv, "=")
		if got, ok := have[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func connect(t *testing.T, dir, name string, opts ...bus.Option) *bus.Conn {
	t.Helper()
	nc, err := bus.Connect(append([]bus.Option{bus.WithDir(dir), bus.WithName(name)}, opts...)...)
	if err != nil {
		t.Fatalf("Connect %s: %v", name, err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// TestScrapeMatchesTraffic drives a known pattern through a live router:
// 1000 messages on orders.created to a subscriber that keeps up and one that
// never reads past its first message, and 7 to a topic nobody wants; the
// scraped counters must say exactly that.
func TestScrapeMatchesTraffic(t *testing.T) {
	dir := startRouter(t)
	e, err := metrics.NewExporter(dir, metrics.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e)

	const (
		n      = 1000
		nobody = 7
		topic  = "orders.created"
	)
	data := []byte(strings.Repeat("x", 100))

	var got atomic.Int64
	consumer := connect(t, dir, "consumer")
	if _, err := consumer.Subscribe(topic, func(*bus.Msg) { got.Add(1) }); err != nil {
		t.Fatal(err)
	}
	// slowpoke's handler holds its dispatcher on the first message, so its
	// 4 KiB ring fills and the router drops the rest for it.
	release := make(chan struct{})
	slowpoke := connect(t, dir, "slowpoke", bus.WithRingSize(64<<10, 4<<10))
	if _, err := slowpoke.Subscribe(topic, func(*bus.Msg) { <-release }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { close(release) }) // before the Conns close (cleanups run last first)
	for _, nc := range []*bus.Conn{consumer, slowpoke} {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	producer := connect(t, dir, "producer")
	for i := 0; i < n; i++ {
		if err := producer.Publish(topic, data); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < nobody; i++ {
		if err := producer.Publish("nobody.home", data); err != nil {
			t.Fatal(err)
		}
	}
	if err := producer.Flush(); err != nil {
		t.Fatal(err)
	}

	// The router has routed everything; wait for a snapshot taken since.
	id := func(nc *bus.Conn) string { return "id=" + strconv.FormatUint(nc.ConnID(), 10) }
	subLabels := func(nc *bus.Conn, name string) []string {
		return []string{"client=" + name, id(nc), "pattern=" + topic, "group="}
	}
	var f families
	deadline := time.Now().Add(waitLimit)
	for {
		f = scrape(t, srv)
		in, _ := f.get("shmbus_client_messages_in_total", "client=producer")
		del, _ := f.get("shmbus_subscription_delivered_total", subLabels(slowpoke, "slowpoke")...)
		drop, _ := f.get("shmbus_subscription_dropped_total", subLabels(slowpoke, "slowpoke")...)
		if in == n+nobody && del+drop == n && got.Load() == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for the snapshot: producer in %v, slowpoke delivered+dropped %v, consumer got %d", in, del+drop, got.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}

	frame := wire.MsgFixed + len(topic) + len(data)
	exact := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shmbus_router_up", nil, 1},
		{"shmbus_router_info", []string{"pid=" + strconv.Itoa(os.Getpid()), "dir=" + dir}, 1},
		{"shmbus_clients", nil, 3},
		{"shmbus_messages_no_subscriber_total", nil, nobody},
		{"shmbus_client_info", []string{"client=producer", id(producer), "pid=" + strconv.Itoa(os.Getpid())}, 1},
		{"shmbus_client_messages_in_total", []string{"client=producer", id(producer)}, n + nobody},
		{"shmbus_client_bytes_in_total", []string{"client=producer", id(producer)}, float64((n + nobody) * len(data))},
		{"shmbus_client_messages_out_total", []string{"client=producer", id(producer)}, 0},
		{"shmbus_client_messages_in_total", []string{"client=consumer", id(consumer)}, 0},
		{"shmbus_client_messages_out_total", []string{"client=consumer", id(consumer)}, n},
		{"shmbus_client_bytes_out_total", []string{"client=consumer", id(consumer)}, float64(n * frame)},
		{"shmbus_client_dropped_total", []string{"client=consumer", id(consumer)}, 0},
		{"shmbus_client_rejected_total", []string{"client=producer", id(producer)}, 0},
		{"shmbus_subscription_delivered_total", subLabels(consumer, "consumer"), n},
		{"shmbus_subscription_dropped_total", subLabels(consumer, "consumer"), 0},
	}
	for _, x := range exact {
		if v, ok := f.get(x.name, x.labels...); !ok || v != x.want {
			t.Errorf("%s{%s} = %v (found: %v), want %v", x.name, strings.Join(x.labels, ","), v, ok, x.want)
		}
	}

	// slowpoke: what was not delivered was dropped, and counted for it.
	subDrop, _ := f.get("shmbus_subscription_dropped_total", subLabels(slowpoke, "slowpoke")...)
	cliDrop, _ := f.get("shmbus_client_dropped_total", "client=slowpoke", id(slowpoke))
	cliOut, _ := f.get("shmbus_client_messages_out_total", "client=slowpoke", id(slowpoke))
	subDel, _ := f.get("shmbus_subscription_delivered_total", subLabels(slowpoke, "slowpoke")...)
	if subDrop == 0 || cliDrop != subDrop || cliOut != subDel {
		t.Errorf("slowpoke: subscription dropped %v delivered %v, client dropped %v out %v", subDrop, subDel, cliDrop, cliOut)
	}
	if fill, ok := f.get("shmbus_ring_fill_ratio", "client=slowpoke", "ring=out"); !ok || fill <= 0 || fill > 1 {
		t.Errorf("slowpoke out ring fill %v (found: %v), want in (0, 1]", fill, ok)
	}
	if subs, _ := f.get("shmbus_subscriptions"); int(subs) != len(f["shmbus_subscription_delivered_total"].GetMetric()) {
		t.Errorf("shmbus_subscriptions %v, but %d subscription series", subs, len(f["shmbus_subscription_delivered_total"].GetMetric()))
	}
	if _, ok := f.get("shmbus_build_info"); !ok {
		t.Error("no shmbus_build_info")
	}
	if _, ok := f.get("go_goroutines"); !ok {
		t.Error("no go_goroutines: the Go collector is missing")
	}

	if code, body := get(t, srv.URL()+"/healthz"); code != http.StatusOK || !strings.HasPrefix(body, "ok") {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	if code, body := get(t, srv.URL()+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("/debug/pprof/: %d, body lacks the profiles:\n%s", code, body)
	}
	if code, _ := get(t, srv.URL()+"/debug/pprof/goroutine?debug=1"); code != http.StatusOK {
		t.Errorf("/debug/pprof/goroutine: %d", code)
	}
	if _, pattern := http.DefaultServeMux.Handler(httptest.NewRequest(http.MethodGet, "/metrics", nil)); pattern != "" {
		t.Errorf("the exporter registered %q on http.DefaultServeMux", pattern)
	}
}

// TestRouterGoneIsUnhealthy: once the router stops, its snapshot ages and
// /healthz turns 503 with the reason, shmbus_router_up 0.
func TestRouterGoneIsUnhealthy(t *testing.T) {
	dir := t.TempDir()
	r, err := router.New(router.Config{Dir: dir, Logger: quiet, StatsEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	e, err := metrics.NewExporter(dir, metrics.WithLogger(quiet), metrics.WithStaleAfter(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e)
	waitHealth(t, srv, http.StatusOK)
	r.Close()
	body := waitHealth(t, srv, http.StatusServiceUnavailable)
	if !strings.Contains(body, "stale") && !strings.Contains(body, "no router stats") {
		t.Errorf("/healthz 503 body %q does not say why", body)
	}
	if up, ok := scrape(t, srv).get("shmbus_router_up"); !ok || up != 0 {
		t.Errorf("shmbus_router_up = %v (found: %v), want 0", up, ok)
	}
}

func waitHealth(t *testing.T, srv *metrics.Server, want int) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		code, body := get(t, srv.URL()+"/healthz")
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz stayed %d %q, want %d", code, body, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNoRouter: without stats the exporter still answers, with up 0 and
// the build info, and /healthz says what is missing.
func TestNoRouter(t *testing.T) {
	e, err := metrics.NewExporter(t.TempDir(), metrics.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv := serve(t, e)
	f := scrape(t, srv)
	if up, ok := f.get("shmbus_router_up"); !ok || up != 0 {
		t.Errorf("shmbus_router_up = %v (found: %v), want 0", up, ok)
	}
	if _, ok := f.get("shmbus_build_info"); !ok {
		t.Error("no shmbus_build_info")
	}
	if _, ok := f.get("shmbus_clients"); ok {
		t.Error("shmbus_clients exported without a snapshot")
	}
	if code, body := get(t, srv.URL()+"/healthz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "no router stats") {
		t.Errorf("/healthz: %d %q, want 503 and the reason", code, body)
	}
	if !errors.Is(e.Check(), router.ErrNoStats) {
		t.Errorf("Check: %v, want ErrNoStats", e.Check())
	}
}

// TestStaleAndDeadSnapshots uses synthetic snapshots: an old one is stale,
// one whose router process is gone is down, a fresh one of a live
// process is up.
func TestStaleAndDeadSnapshots(t *testing.T) {
	var snap atomic.Pointer[router.Snapshot]
	e, err := metrics.NewExporter("/nonexistent", metrics.WithLogger(quiet), metrics.WithStaleAfter(time.Minute),
		metrics.WithSource(func() (*router.Snapshot, error) { return snap.Load(), nil }))
	if err != nil {
		t.Fatal(err)
	}
	snap.Store(&router.Snapshot{Time: time.Now(), RouterPID: os.Getpid()})
	if err := e.Check(); err != nil {
		t.Errorf("fresh snapshot: %v", err)
	}
	snap.Store(&router.Snapshot{Time: time.Now().Add(-time.Hour), RouterPID: os.Getpid()})
	if err := e.Check(); !errors.Is(err, metrics.ErrStale) {
		t.Errorf("hour-old snapshot: %v, want ErrStale", err)
	}
	snap.Store(&router.Snapshot{Time: time.Now(), RouterPID: deadPID(t)})
	if err := e.Check(); !errors.Is(err, metrics.ErrRouterGone) {
		t.Errorf("dead router's snapshot: %v, want ErrRouterGone", err)
	}
	for _, o := range []metrics.Option{metrics.WithStaleAfter(0), metrics.WithLogger(nil), metrics.WithSource(nil)} {
		if _, err := metrics.NewExporter("", o); !errors.Is(err, metrics.ErrInvalidOption) {
			t.Errorf("invalid option: %v, want ErrInvalidOption", err)
		}
	}
}

// deadPID is the PID of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	if err != nil {
		t.Skipf("cannot start /bin/true: %v", err)
	}
	if _, err := p.Wait(); err != nil {
		t.Fatal(err)
	}
	return p.Pid
}

// TestOddClientName: a client name that is not UTF-8 is mended, not a
// failed scrape (or a panic).
func TestOddClientName(t *testing.T) {
	snap := &router.Snapshot{Time: time.Now(), RouterPID: os.Getpid(), Clients: []router.ClientStats{
		{ID: 9, Name: "bad\xffname", PID: 1, MsgsIn: 3, Subs: []router.SubStats{{SID: 1, Pattern: "a.b", Delivered: 2}}},
	}}
	e, err := metrics.NewExporter("", metrics.WithLogger(quiet),
		metrics.WithSource(func() (*router.Snapshot, error) { return snap, nil }))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(e)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	f := families{}
	for _, mf := range mfs {
		f[mf.GetName()] = mf
	}
	if v, ok := f.get("shmbus_client_messages_in_total", "client=bad\uFFFDname", "id=9"); !ok || v != 3 {
		t.Errorf("shmbus_client_messages_in_total of the odd name = %v (found: %v), want 3", v, ok)
	}
	if v, ok := f.get("shmbus_subscription_delivered_total", "id=9", "sid=1", "pattern=a.b", "group="); !ok || v != 2 {
		t.Errorf("shmbus_subscription_delivered_total = %v (found: %v), want 2", v, ok)
	}
}
