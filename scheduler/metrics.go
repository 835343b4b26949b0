package scheduler

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the scheduler's Prometheus series, opsworker_job_*. They name the job in a label
// called task, not job: job is the label Prometheus gives every series of a scrape (the scrape
// job's name), and a series carrying its own job would need honor_labels in every scrape
// configuration. Tasks register their own counters beside them.
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
			Help: "Finished runs by task, outcome (succeeded, failed) and trigger (schedule, notify, manual).",
		}, []string{"task", "outcome", "trigger"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "opsworker_job_run_duration_seconds",
			Help:    "Duration of finished runs.",
			Buckets: []float64{.005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600},
		}, []string{"task"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opsworker_job_last_success_timestamp_seconds",
			Help: "Unix time at which the last successful run of the task finished, in this process (0 until then).",
		}, []string{"task"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_skipped_total",
			Help: "Firings not run, by reason: overlap (the previous run still runs in this process) or replica (another replica runs or has run the firing).",
		}, []string{"task", "reason"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "opsworker_job_running",
			Help: "Runs in progress in this process.",
		}, []string{"task"}),
		missed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_missed_total",
			Help: "Firings that could not start: the database did not answer, or not in time to take the job lock.",
		}, []string{"task"}),
		wakeups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_job_wakeups_total",
			Help: "Requests for a run soon (RunSoon: an escalation wake-up from a PostgreSQL notification), before coalescing.",
		}, []string{"task"}),
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

// RegisterIntervals registers opsworker_job_interval_seconds on reg: for each task whose spec is
// not nil (nil: the task is off), the longest time between two firings of its spec after from
// (Spec.LongestInterval). An alert on the age of a task's last success compares it with this,
// whatever the spec (deploy/prometheus/rules.yml). The gauge is constant for the process's life:
// it is registered before the scheduler exists, so it is there while the database is awaited.
func RegisterIntervals(reg prometheus.Registerer, from time.Time, specs map[string]*Spec) {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "opsworker_job_interval_seconds",
		Help: "Longest time between two firings of the task's spec: how long a healthy task may go without a run.",
	}, []string{"task"})
	for name, spec := range specs {
		if spec != nil {
			g.WithLabelValues(name).Set(spec.LongestInterval(from).Seconds())
		}
	}
	reg.MustRegister(g)
}
