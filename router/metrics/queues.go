package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shmbus/shmbus/router"
)

// The queue metrics (router.Snapshot.Queues and each client's Consumers).
// docs/operations.md lists them: keep it in step.
var (
	queueLabels    = []string{"queue"}
	consumerLabels = []string{"client", "id", "sid", "queue"}

	descQueues = prometheus.NewDesc("shmbus_queues",
		"Queues declared in the router.", nil, nil)
	descQueueInfo = prometheus.NewDesc("shmbus_queue_info",
		"Always 1 per queue; the labels give its overflow policy, durability and whether it is private.",
		[]string{"queue", "overflow", "durability", "private"}, nil)
	descQueueDepth = prometheus.NewDesc("shmbus_queue_depth",
		"Messages held by the queue: ready, delayed (nak with a delay) and in flight.", queueLabels, nil)
	descQueueMsgs = prometheus.NewDesc("shmbus_queue_messages",
		"Messages held by the queue by state: ready, in_flight (delivered, not settled) or delayed.",
		[]string{"queue", "state"}, nil)
	descQueueBytes = prometheus.NewDesc("shmbus_queue_bytes",
		"Bytes of the message frames the queue holds.", queueLabels, nil)
	descQueueMaxMsgs = prometheus.NewDesc("shmbus_queue_max_messages",
		"The queue's bound on held messages (max_msgs).", queueLabels, nil)
	descQueueMaxBytes = prometheus.NewDesc("shmbus_queue_max_bytes",
		"The queue's bound on held bytes (max_bytes).", queueLabels, nil)
	descQueueFill = prometheus.NewDesc("shmbus_queue_fill_ratio",
		"How full the queue is, 0 to 1: the larger of messages and bytes against their bounds.", queueLabels, nil)
	descQueueAlert = prometheus.NewDesc("shmbus_queue_alert_level_ratio",
		"The highest alert level raised on the queue, 0 to 1 (0: none).", queueLabels, nil)
	descQueueConsumers = prometheus.NewDesc("shmbus_queue_consumers",
		"Consumers of the queue.", queueLabels, nil)
	descQueueEvents = prometheus.NewDesc("shmbus_queue_messages_total",
		"Messages through the queue by event: enqueued, delivered (redeliveries included), redelivered, acked, naked, termed, "+
			"ack_timeout, expired, max_deliveries, rejected, blocked, dropped (drop-oldest), dead_lettered, purged, "+
			"binding_refused (a published message a binding could not push), dead_letter_lost.",
		[]string{"queue", "event"}, nil)

	descConsumerDelivered = prometheus.NewDesc("shmbus_consumer_delivered_total",
		"Queue messages delivered to the consumer (redeliveries included).", consumerLabels, nil)
	descConsumerInFlight = prometheus.NewDesc("shmbus_consumer_in_flight",
		"Queue messages delivered to the consumer and not settled yet.", consumerLabels, nil)

	queueDescs = []*prometheus.Desc{descQueues, descQueueInfo, descQueueDepth, descQueueMsgs, descQueueBytes,
		descQueueMaxMsgs, descQueueMaxBytes, descQueueFill, descQueueAlert, descQueueConsumers, descQueueEvents,
		descConsumerDelivered, descConsumerInFlight}
)

// collectQueues sends the queue and consumer metrics of s.
func collectQueues(ch chan<- prometheus.Metric, s *router.Snapshot) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { send(ch, d, prometheus.GaugeValue, v, labels) }
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		send(ch, d, prometheus.CounterValue, float64(v), labels)
	}
	gauge(descQueues, float64(len(s.Queues)))
	for i := range s.Queues {
		q := &s.Queues[i]
		gauge(descQueueInfo, 1, q.Name, q.Overflow, q.Durability, strconv.FormatBool(q.Private))
		gauge(descQueueDepth, float64(q.Depth), q.Name)
		gauge(descQueueMsgs, float64(q.Ready), q.Name, "ready")
		gauge(descQueueMsgs, float64(q.InFlight), q.Name, "in_flight")
		gauge(descQueueMsgs, float64(q.Delayed), q.Name, "delayed")
		gauge(descQueueBytes, float64(q.Bytes), q.Name)
		gauge(descQueueMaxMsgs, float64(q.MaxMsgs), q.Name)
		gauge(descQueueMaxBytes, float64(q.MaxBytes), q.Name)
		gauge(descQueueFill, float64(q.Fill)/100, q.Name)
		gauge(descQueueAlert, float64(q.Alert)/100, q.Name)
		gauge(descQueueConsumers, float64(q.Consumers), q.Name)
		for _, e := range []struct {
			event string
			v     uint64
		}{
			{"enqueued", q.Enqueued}, {"delivered", q.Delivered}, {"redelivered", q.Redelivered},
			{"acked", q.Acked}, {"naked", q.Naked}, {"termed", q.Termed}, {"ack_timeout", q.AckTimeouts},
			{"expired", q.Expired}, {"max_deliveries", q.MaxDeliveries}, {"rejected", q.Rejected},
			{"blocked", q.Blocked}, {"dropped", q.Dropped}, {"dead_lettered", q.DeadLettered},
			{"purged", q.Purged}, {"binding_refused", q.BoundRefused}, {"dead_letter_lost", q.DeadLost},
		} {
			counter(descQueueEvents, e.v, q.Name, e.event)
		}
	}
	for i := range s.Clients {
		c := &s.Clients[i]
		id := strconv.FormatUint(c.ID, 10)
		for _, qc := range c.Consumers {
			sid := strconv.FormatUint(qc.SID, 10)
			counter(descConsumerDelivered, qc.Delivered, c.Name, id, sid, qc.Queue)
			gauge(descConsumerInFlight, float64(qc.InFlight), c.Name, id, sid, qc.Queue)
		}
	}
}
