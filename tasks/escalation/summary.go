package escalation

import (
	"log/slog"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// counts is what a run (or one batch of it) did, as committed.
type counts struct {
	alertsEscalated, pages, noOneOnCall, policiesExhausted, ackTimeouts int
	nobodyPaged, restarts, noPolicy, badPolicy, errors, batches         int
	deliveries, noContactMethod                                         int
}

// countBatch counts a committed batch: pages are the notifications actually inserted, and an
// alert counts as escalated only when its step paged someone.
func countBatch(outcomes []outcome, pages []int64, enq delivery.Enqueued) counts {
	c := counts{pages: len(pages), batches: 1, deliveries: enq.Deliveries, noContactMethod: len(enq.NoContact)}
	for _, o := range outcomes {
		switch o.Kind {
		case kindEscalated:
			if o.Empty {
				c.nobodyPaged++
			} else {
				c.alertsEscalated++
			}
			if o.Restart != "" {
				c.restarts++
			}
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
			case vocab.EventNoOneOnCall:
				c.noOneOnCall++
			case vocab.EventError:
				c.errors++
			}
		}
	}
	return c
}

// countAcks counts the ack timeout pass's events.
func countAcks(acks []ackEvent) counts {
	var c counts
	for _, a := range acks {
		switch a.Event {
		case vocab.EventAckTimeout:
			c.ackTimeouts++
		case vocab.EventBadPolicy:
			c.badPolicy++
		case vocab.EventError:
			c.errors++
		}
	}
	return c
}

// logAcks logs the ack timeout pass's events: a restart at info, bad data at warn.
func logAcks(log *slog.Logger, acks []ackEvent) {
	for _, a := range acks {
		switch a.Event {
		case vocab.EventAckTimeout:
			log.Info("alert acknowledgement timed out", "tenant_id", a.TenantID, "alert_id", a.AlertID, "loop", a.Loop)
		default:
			log.Warn("alert escalation problem", "tenant_id", a.TenantID, "alert_id", a.AlertID, "event", a.Event, "details", a.Details)
		}
	}
}

func (c *counts) add(o counts) {
	c.alertsEscalated += o.alertsEscalated
	c.pages += o.pages
	c.noOneOnCall += o.noOneOnCall
	c.policiesExhausted += o.policiesExhausted
	c.ackTimeouts += o.ackTimeouts
	c.nobodyPaged += o.nobodyPaged
	c.restarts += o.restarts
	c.noPolicy += o.noPolicy
	c.badPolicy += o.badPolicy
	c.errors += o.errors
	c.batches += o.batches
	c.deliveries += o.deliveries
	c.noContactMethod += o.noContactMethod
}

// summary is the run's summary, as the scheduler stores it in its run history.
func (c counts) summary() scheduler.Summary {
	return scheduler.Summary{
		"alerts_escalated":   c.alertsEscalated,
		"pages":              c.pages,
		"no_one_on_call":     c.noOneOnCall,
		"nobody_paged":       c.nobodyPaged,
		"restarts":           c.restarts,
		"policies_exhausted": c.policiesExhausted,
		"ack_timeouts":       c.ackTimeouts,
		"no_policy":          c.noPolicy,
		"bad_policy":         c.badPolicy,
		"errors":             c.errors,
		"batches":            c.batches,
		"deliveries":         c.deliveries,
		"no_contact_method":  c.noContactMethod,
	}
}
