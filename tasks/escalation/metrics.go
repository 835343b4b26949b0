package escalation

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
)

// metrics are the task's counters and the escalation lag gauge. They exist even without a
// registerer, so the code that counts never checks.
type metrics struct {
	pages, escalated, exhausted, noOneOnCall, nobodyPaged, restarts, ackTimeouts, errors prometheus.Counter
	// lag is the age of the oldest due alert when the last run claimed it (0: none was due):
	// how late pages are. Past a cron interval or two, runs fail, are too slow, or do not happen.
	lag prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return scheduler.Counter(reg, "escalation", name, help)
	}
	return &metrics{
		pages:       counter("pages_total", "Notifications (pages) written to the outbox by escalations."),
		escalated:   counter("alerts_escalated_total", "Escalation steps taken: an alert advanced one step."),
		exhausted:   counter("policies_exhausted_total", "Alerts whose escalation policy ran out of steps and repeats."),
		noOneOnCall: counter("no_one_on_call_total", "Schedules that had nobody on call when an escalation step paged them."),
		nobodyPaged: counter("nobody_paged_total", "Escalation steps that paged nobody (every target failed or had nobody on call): the next step is due at once."),
		restarts:    counter("restarts_total", "Alerts whose escalation restarted from the first step in a new pass (reopened, reset or moved to another policy)."),
		ackTimeouts: counter("ack_timeouts_total", "Acknowledged alerts returned to triggered by their policy's ack timeout."),
		errors:      counter("errors_total", "Bad data met while escalating (escalation_error events, including those of the ack timeout pass)."),
		lag:         lagGauge(reg),
	}
}

// lagGauge returns opsworker_escalation_lag_seconds, registered on reg (nil: kept but not
// exposed); a task created twice on one registry shares the first one's gauge.
func lagGauge(reg prometheus.Registerer) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "opsworker_escalation_lag_seconds",
		Help: "Age of the oldest due alert when the last escalation run claimed it (the run's now minus its next_escalation_at); 0 when none was due.",
	})
	if reg == nil {
		return g
	}
	if err := reg.Register(g); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(prometheus.Gauge); ok {
				return existing
			}
		}
		panic(err) // a clash with a metric of another type is a programming error
	}
	return g
}

// setLag sets the lag gauge at the end of a run at now whose oldest claimed alert was due at
// oldestDue (zero: none).
func (m *metrics) setLag(now, oldestDue time.Time) {
	if oldestDue.IsZero() {
		m.lag.Set(0)
		return
	}
	m.lag.Set(max(0, now.Sub(oldestDue).Seconds()))
}

// add counts a committed batch.
func (m *metrics) add(c counts) {
	m.pages.Add(float64(c.pages))
	m.escalated.Add(float64(c.alertsEscalated))
	m.exhausted.Add(float64(c.policiesExhausted))
	m.noOneOnCall.Add(float64(c.noOneOnCall))
	m.nobodyPaged.Add(float64(c.nobodyPaged))
	m.restarts.Add(float64(c.restarts))
	m.ackTimeouts.Add(float64(c.ackTimeouts))
	m.errors.Add(float64(c.errors))
}
