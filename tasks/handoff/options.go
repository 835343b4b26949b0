package handoff

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/setting"
)

// MaxLead bounds HANDOFF_LEAD: a week ahead is the longest notice that still reads as news.
const MaxLead = 7 * 24 * time.Hour

// DefaultBatchSize is the number of schedules one transaction covers when Options.BatchSize is 0.
const DefaultBatchSize = 500

// Options configure a Task.
type Options struct {
	// Lead is how long before a change the responder who comes on call is told
	// (HANDOFF_LEAD, 0 to MaxLead; 0: at the change).
	Lead time.Duration
	// Registerer receives the task's counters; nil: no metrics.
	Registerer prometheus.Registerer
	// Deliveries queues each notice's deliveries in the notice's transaction; nil: notices are
	// only written to the outbox (tests of the task alone).
	Deliveries *delivery.Enqueuer
	// BatchSize is the number of schedules per transaction; 0: DefaultBatchSize.
	BatchSize int
}

// Validate reports a bad setting, naming its variable.
func (o Options) Validate() error {
	if o.Lead < 0 || o.Lead > MaxLead {
		return setting.Errorf("HANDOFF_LEAD", o.Lead, "must be a duration from 0 (at the change) to 168h, such as 15m")
	}
	return nil
}
