package report

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the task's counters. They exist even without a registerer, so the code that counts
// never checks.
type metrics struct {
	written, tenantsFailed prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "opsworker", Subsystem: "report", Name: name, Help: help})
		if reg == nil {
			return c
		}
		if err := reg.Register(c); err != nil {
			// A second Task on the same registry (tests, a re-created task) shares the counters.
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				if existing, ok := are.ExistingCollector.(prometheus.Counter); ok {
					return existing
				}
			}
			panic(err) // a clashing metric of another type is a programming error
		}
		return c
	}
	return &metrics{
		written:       counter("reports_written_total", "Daily reports inserted (a report another replica wrote first is not counted)."),
		tenantsFailed: counter("tenants_failed_total", "Tenants whose reports could not be computed in a run (unknown zone, failed query)."),
	}
}
