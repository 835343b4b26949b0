package handoff

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
)

// metrics are the task's counters. They exist even without a registerer, so the code that counts
// never checks.
type metrics struct {
	notices, skipped, failed, deliveries, badSchedules prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return scheduler.Counter(reg, "handoff", name, help)
	}
	return &metrics{
		notices:      counter("notices_total", "Handoff notices written to the outbox with their deliveries queued (one per change and recipient)."),
		skipped:      counter("notices_skipped_total", "Handoff notices recorded as skipped: the change was over an hour old when the task came to it."),
		failed:       counter("notices_failed_total", "Handoff notices that could not be queued: the responder coming on call has no enabled contact method."),
		deliveries:   counter("deliveries_total", "Deliveries of handoff notices queued."),
		badSchedules: counter("bad_schedules_total", "Schedules the task could not compute (bad data: an unknown zone, a bad layer); their window is passed over."),
	}
}

func (m *metrics) add(c counts) {
	m.notices.Add(float64(c.notices))
	m.skipped.Add(float64(c.skipped))
	m.failed.Add(float64(c.failed))
	m.deliveries.Add(float64(c.deliveries))
	m.badSchedules.Add(float64(c.badSchedules))
}

// counts is what a run, or one batch of it, did, as committed.
type counts struct {
	schedules, changes, notices, skipped, failed, existing, deliveries, badSchedules, batches int
}

func (c *counts) add(o counts) {
	c.schedules += o.schedules
	c.changes += o.changes
	c.notices += o.notices
	c.skipped += o.skipped
	c.failed += o.failed
	c.existing += o.existing
	c.deliveries += o.deliveries
	c.badSchedules += o.badSchedules
	c.batches += o.batches
}

func (c counts) summary() scheduler.Summary {
	return scheduler.Summary{
		"schedules":     c.schedules,
		"changes":       c.changes,
		"notices":       c.notices,
		"skipped":       c.skipped,
		"failed":        c.failed,
		"existing":      c.existing,
		"deliveries":    c.deliveries,
		"bad_schedules": c.badSchedules,
		"batches":       c.batches,
	}
}
