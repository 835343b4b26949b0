package delivery

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river/rivertype"
)

// Channels and outcomes of the deliveries_total series; every combination exists from start.
var (
	channels = []string{"webhook", "slack", "email"}
	outcomes = []string{"sent", "retried", "failed", "cancelled"}
	// deferralReasons label opsworker_delivery_deferred_total.
	deferralReasons = []string{"peer_may_allow", "destination_busy", "slow_lane_full"}
)

// Metrics are the delivery task's series.
type Metrics struct {
	deliveries *prometheus.CounterVec
	attempts   *prometheus.HistogramVec
	latency    prometheus.Histogram
	deferrals  *prometheus.CounterVec
	cuts       prometheus.Counter
	seats      prometheus.Gauge
}

// NewMetrics creates the delivery series and registers them on reg (nil: not exposed).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_delivery_deliveries_total",
			Help: "Delivery attempts by channel and outcome: sent, retried (failed, will be retried), failed (for good), cancelled (alert acknowledged or resolved, contact method removed).",
		}, []string{"channel", "outcome"}),
		attempts: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsworker_delivery_attempt_duration_seconds",
			Help:    "Duration of one delivery attempt (the send), by channel.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"channel"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "opsworker_delivery_latency_seconds",
			Help:    "From a page's commit (its delivery's queueing) to the receiver's acceptance.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900},
		}),
	}
	m.deferrals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsworker_delivery_deferred_total",
		Help: "Delivery jobs put back without an attempt, by why: peer_may_allow (refused by this process's DELIVERY_ALLOW_NETWORKS while the fleet's settings differ), destination_busy (the destination has DELIVERY_PER_HOST attempts running), slow_lane_full (the destination is slow and DELIVERY_SLOW_LANE attempts wait on slow destinations).",
	}, []string{"why"})
	m.cuts = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "opsworker_delivery_cut_total",
		Help: "Delivery attempts cut short: the destination was slow and every seat of the slow lane (DELIVERY_SLOW_LANE) was taken (retried on the schedule).",
	})
	m.seats = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsworker_delivery_slow_lane_in_use",
		Help: "Delivery attempts now holding a seat of the slow lane: waiting on a slow destination.",
	})
	for _, why := range deferralReasons {
		m.deferrals.WithLabelValues(why)
	}
	for _, c := range channels {
		for _, o := range outcomes {
			m.deliveries.WithLabelValues(c, o)
		}
		m.attempts.WithLabelValues(c)
	}
	if reg != nil {
		reg.MustRegister(m.deliveries, m.attempts, m.latency, m.deferrals, m.cuts, m.seats)
	}
	return m
}

func (m *Metrics) outcome(channel, outcome string) {
	m.deliveries.WithLabelValues(channel, outcome).Inc()
}

func (m *Metrics) deferred(why string) { m.deferrals.WithLabelValues(why).Inc() }

func (m *Metrics) attempt(channel string, d time.Duration) {
	m.attempts.WithLabelValues(channel).Observe(d.Seconds())
}

// QueueDepth is a collector of the delivery queue's jobs waiting to be worked, by state
// (available, retryable, scheduled), read from River's table at each scrape.
type QueueDepth struct {
	pool *pgxpool.Pool
	desc *prometheus.Desc
}

// NewQueueDepth returns the collector for pool's delivery queue.
func NewQueueDepth(pool *pgxpool.Pool) *QueueDepth {
	return &QueueDepth{pool: pool, desc: prometheus.NewDesc("opsworker_delivery_queue_depth",
		"Delivery jobs waiting: available (due now), retryable (waiting for a retry), scheduled (snoozed for a Retry-After).",
		[]string{"state"}, nil)}
}

// Describe implements prometheus.Collector.
func (q *QueueDepth) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

// Collect implements prometheus.Collector. A failed read is reported as an invalid metric (the
// scrape shows the error) rather than stale numbers.
func (q *QueueDepth) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	waiting := []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRetryable, rivertype.JobStateScheduled}
	counts := map[string]float64{}
	for _, s := range waiting {
		counts[string(s)] = 0
	}
	// River's own vocabulary, as parameters; river_job_prioritized_fetching_index (state, queue, …) serves it.
	rows, err := q.pool.Query(ctx, `select state::text, count(*) from river_job
		where queue = $1 and state = any($2::text[]::river_job_state[]) group by state`, Queue, waiting)
	if err == nil {
		for rows.Next() {
			var state string
			var n float64
			if err = rows.Scan(&state, &n); err != nil {
				break
			}
			counts[state] = n
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if err != nil {
		ch <- prometheus.NewInvalidMetric(q.desc, err)
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, n, state)
	}
}
