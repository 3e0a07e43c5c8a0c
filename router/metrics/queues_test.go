package metrics_test

import (
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shmbus/shmbus/router"
	"github.com/shmbus/shmbus/router/metrics"
)

// TestQueueMetrics: the queues of a snapshot and the clients' consumers
// come out as the shmbus_queue_* and shmbus_consumer_* series.
func TestQueueMetrics(t *testing.T) {
	snap := &router.Snapshot{Time: time.Now(), RouterPID: os.Getpid(),
		Clients: []router.ClientStats{{ID: 4, Name: "worker", PID: 1,
			Consumers: []router.ConsumerStats{{SID: 2, Queue: "jobs", Prefetch: 8, InFlight: 3, Delivered: 40}}}},
		Queues: []router.QueueStats{{Name: "jobs", Overflow: "block", Durability: "none", MaxMsgs: 100, MaxBytes: 1 << 20,
			Consumers: 1, Depth: 10, Ready: 6, InFlight: 3, Delayed: 1, Bytes: 640, Fill: 10, Alert: 0,
			Enqueued: 50, Delivered: 43, Redelivered: 3, Acked: 37, Naked: 2, Termed: 1, Expired: 2, Rejected: 5,
			BoundRefused: 1, DeadLost: 1}},
	}
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
	for _, x := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shmbus_queues", nil, 1},
		{"shmbus_queue_info", []string{"queue=jobs", "overflow=block", "durability=none", "private=false"}, 1},
		{"shmbus_queue_depth", []string{"queue=jobs"}, 10},
		{"shmbus_queue_messages", []string{"queue=jobs", "state=ready"}, 6},
		{"shmbus_queue_messages", []string{"queue=jobs", "state=in_flight"}, 3},
		{"shmbus_queue_messages", []string{"queue=jobs", "state=delayed"}, 1},
		{"shmbus_queue_bytes", []string{"queue=jobs"}, 640},
		{"shmbus_queue_max_messages", []string{"queue=jobs"}, 100},
		{"shmbus_queue_fill_ratio", []string{"queue=jobs"}, 0.1},
		{"shmbus_queue_alert_level_ratio", []string{"queue=jobs"}, 0},
		{"shmbus_queue_consumers", []string{"queue=jobs"}, 1},
		{"shmbus_queue_messages_total", []string{"queue=jobs", "event=enqueued"}, 50},
		{"shmbus_queue_messages_total", []string{"queue=jobs", "event=acked"}, 37},
		{"shmbus_queue_messages_total", []string{"queue=jobs", "event=rejected"}, 5},
		{"shmbus_queue_messages_total", []string{"queue=jobs", "event=binding_refused"}, 1},
		{"shmbus_consumer_delivered_total", []string{"client=worker", "id=4", "sid=2", "queue=jobs"}, 40},
		{"shmbus_consumer_in_flight", []string{"client=worker", "id=4", "sid=2", "queue=jobs"}, 3},
	} {
		if v, ok := f.get(x.name, x.labels...); !ok || v != x.want {
			t.Errorf("%s%v = %v (found: %v), want %v", x.name, x.labels, v, ok, x.want)
		}
	}
	if n := len(f["shmbus_queue_messages_total"].GetMetric()); n != 16 {
		t.Errorf("%d shmbus_queue_messages_total series, want 16 events", n)
	}
}
