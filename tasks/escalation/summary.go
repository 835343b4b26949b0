package escalation

import "github.com/opsworker/opsworker/scheduler"

// counts is what a run (or one batch of it) did, as committed.
type counts struct {
	alertsEscalated, pages, noOneOnCall, policiesExhausted, ackTimeouts int
	noPolicy, badPolicy, errors, batches                                int
}

// countBatch counts a committed batch: pages are the notifications actually inserted.
func countBatch(outcomes []outcome, pages int64) counts {
	c := counts{pages: int(pages), batches: 1}
	for _, o := range outcomes {
		switch o.Kind {
		case kindEscalated:
			c.alertsEscalated++
		case kindExhausted:
			c.policiesExhausted++
		case kindNoPolicy:
			c.noPolicy++
		case kindBadPolicy:
			c.badPolicy++
		}
		// kindNoTenant is counted by its escalation_error event, below.
		for _, ev := range o.Events {
			switch ev.Kind {
			case eventNoOneOnCall:
				c.noOneOnCall++
			case eventError:
				c.errors++
			}
		}
	}
	return c
}

func (c *counts) add(o counts) {
	c.alertsEscalated += o.alertsEscalated
	c.pages += o.pages
	c.noOneOnCall += o.noOneOnCall
	c.policiesExhausted += o.policiesExhausted
	c.ackTimeouts += o.ackTimeouts
	c.noPolicy += o.noPolicy
	c.badPolicy += o.badPolicy
	c.errors += o.errors
	c.batches += o.batches
}

// summary is the run's summary, as the scheduler stores it in its run history.
func (c counts) summary() scheduler.Summary {
	return scheduler.Summary{
		"alerts_escalated":   c.alertsEscalated,
		"pages":              c.pages,
		"no_one_on_call":     c.noOneOnCall,
		"policies_exhausted": c.policiesExhausted,
		"ack_timeouts":       c.ackTimeouts,
		"no_policy":          c.noPolicy,
		"bad_policy":         c.badPolicy,
		"errors":             c.errors,
		"batches":            c.batches,
	}
}
