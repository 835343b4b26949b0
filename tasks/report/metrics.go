package report

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
)

// metrics are the task's counters. They exist even without a registerer, so the code that counts
// never checks.
type metrics struct {
	written, tenantsFailed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		return scheduler.Counter(reg, "report", name, help)
	}
	return &metrics{
		written:       counter("reports_written_total", "Daily reports inserted (a report another replica wrote first is not counted)."),
		tenantsFailed: counter("tenants_failed_total", "Tenants whose reports could not be computed in a run (unknown zone, failed query)."),
	}
}
