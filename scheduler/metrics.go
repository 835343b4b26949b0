package scheduler

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the scheduler's Prometheus series. Tasks register their own counters beside them.
type Metrics struct {
	runs        *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	lastSuccess *prometheus.GaugeVec
	skipped     *prometheus.CounterVec
	running     *prometheus.GaugeVec
	missed      *prometheus.CounterVec
	wakeups     *prometheus.CounterVec
	// historyDropped counts history rows dropped from memory while the database did not answer.
	historyDropped prometheus.Counter
}

// NewMetrics creates the scheduler's series and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_runs_total",
			Help: "Finished runs by job, outcome (succeeded, failed) and trigger (schedule, notify, manual).",
		}, []string{"job", "outcome", "trigger"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsworker_job_run_duration_seconds",
			Help:    "Duration of finished runs.",
			Buckets: []float64{.005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opsworker_job_last_success_timestamp_seconds",
			Help: "Unix time at which the last successful run of the job finished, in this process.",
		}, []string{"job"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_skipped_total",
			Help: "Firings not run, by reason: overlap (the previous run still runs in this process) or replica (another replica runs or has run the firing).",
		}, []string{"job", "reason"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opsworker_job_running",
			Help: "Runs in progress in this process.",
		}, []string{"job"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_missed_total",
			Help: "Firings that could not start: the database did not answer, or not in time to take the job lock.",
		}, []string{"job"}),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_wakeups_total",
			Help: "Requests for a run soon (RunSoon: an escalation wake-up from a PostgreSQL notification), before coalescing.",
		}, []string{"job"}),
		historyDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "opsworker_job_history_dropped_total",
			Help: "Run history rows dropped from memory because the database did not answer for too long.",
		}),
	}
	reg.MustRegister(m.runs, m.duration, m.lastSuccess, m.skipped, m.running, m.missed, m.wakeups, m.historyDropped)
	return m
}

// register creates every series of a job at zero, so dashboards see it before its first run.
func (m *Metrics) register(job string) {
	for _, outcome := range []string{statusSucceeded, statusFailed} {
		for _, trigger := range []string{TriggerSchedule, TriggerNotify, TriggerManual} {
			m.runs.WithLabelValues(job, outcome, trigger)
		}
	}
	m.wakeups.WithLabelValues(job)
	for _, reason := range []string{skipOverlap, skipReplica} {
		m.skipped.WithLabelValues(job, reason)
	}
	m.running.WithLabelValues(job)
	m.missed.WithLabelValues(job)
	// A histogram child and a gauge at zero: an alert on the age of the last success can fire
	// before the first run, and a dashboard shows the job at once.
	m.duration.WithLabelValues(job)
	m.lastSuccess.WithLabelValues(job)
}

// Counter returns the counter opsworker_<subsystem>_<name> for a job's own figures, registered
// on reg (nil: kept but not exposed). A job created twice on one registry (a test, a re-created
// task) shares the first one's counter rather than failing.
func Counter(reg prometheus.Registerer, subsystem, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "opsworker", Subsystem: subsystem, Name: name, Help: help})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return existing
			}
		}
		panic(err) // a clash with a metric of another type is a programming error
	}
	return c
}
