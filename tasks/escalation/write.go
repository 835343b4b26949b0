package escalation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// The batch's writes: three statements whatever its size, each reading its rows from arrays
// (one per column) through unnest, so a batch of 1,000 alerts costs three round trips, not
// thousands. Every instant written is the run's now, not the database's clock: a page's
// created_at, its first attempt, the event's at and the alert's last_escalated_at agree with
// each other and with next_escalation_at, and tests drive them all.
const (
	// insertNotificationsSQL returns the pages it inserted, whose ids the deliveries queued in the
	// same transaction refer to. The plan left out the pages the outbox already holds (see
	// loadPaged), so a conflict on the outbox's key means the plan was wrong: write fails then.
	insertNotificationsSQL = `
insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step,
                           schedule_id, status, next_attempt_at, created_at)
select u.tenant_id, u.alert_id, u.responder_id, $9, u.pass, u.loop, u.step, u.schedule_id, $10, $8, $8
from unnest($1::text[], $2::bigint[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::bigint[])
     as u(tenant_id, alert_id, responder_id, pass, loop, step, schedule_id)
on conflict (alert_id, escalation_pass, escalation_loop, escalation_step, responder_id) do nothing
returning id, alert_id, responder_id`

	insertEventsSQL = `
insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
select u.tenant_id, u.alert_id, $8, u.event, u.pass, u.loop, u.step, u.details::jsonb
from unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[])
     as u(tenant_id, alert_id, event, pass, loop, step, details)`

	updateAlertsSQL = `
update alerts a
set escalation_step     = u.step,
    escalation_loop     = u.loop,
    escalation_pass     = u.pass,
    escalated_policy_id = u.policy,
    escalation_rewound  = u.rewound,
    last_escalated_at   = case when u.escalated then $9 else a.last_escalated_at end,
    next_escalation_at  = u.next
from unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $5::bigint[], $6::bool[], $7::bool[], $8::timestamptz[])
     as u(id, step, loop, pass, policy, rewound, escalated, next)
where a.id = u.id`
)

// insertedPage is a notification a batch inserted.
type insertedPage struct {
	ID, AlertID, ResponderID int64
}

// write stores the batch's outcomes as planned and returns the pages it inserted.
func write(ctx context.Context, tx pgx.Tx, outcomes []outcome, now time.Time) ([]insertedPage, error) {
	var n struct {
		tenants              []string
		alerts, responders   []int64
		passes, loops, steps []int32
		schedules            []*int64
	}
	var e struct {
		tenants, details []string
		kinds            []vocab.Event
		alerts           []int64
		passes, loops    []int32
		steps            []*int32
	}
	var u struct {
		alerts             []int64
		steps              []*int32
		loops, passes      []int32
		policies           []*int64
		rewound, escalated []bool
		next               []*time.Time
	}
	for _, o := range outcomes {
		for _, p := range o.Pages {
			n.tenants = append(n.tenants, o.Alert.TenantID)
			n.alerts = append(n.alerts, o.Alert.ID)
			n.responders = append(n.responders, p.ResponderID)
			n.passes = append(n.passes, o.Pass)
			n.loops = append(n.loops, o.Loop)
			n.steps = append(n.steps, *o.Step) // a page always has a step
			n.schedules = append(n.schedules, p.ScheduleID)
		}
		for _, ev := range o.Events {
			details, err := json.Marshal(ev.Details)
			if err != nil {
				return nil, fmt.Errorf("alert %d: encode %s event: %w", o.Alert.ID, ev.Kind, err)
			}
			e.tenants = append(e.tenants, o.Alert.TenantID)
			e.alerts = append(e.alerts, o.Alert.ID)
			e.kinds = append(e.kinds, ev.Kind)
			e.passes = append(e.passes, ev.Pass)
			e.loops = append(e.loops, ev.Loop)
			e.steps = append(e.steps, ev.Step)
			e.details = append(e.details, string(details))
		}
		u.alerts = append(u.alerts, o.Alert.ID)
		u.steps = append(u.steps, o.Step)
		u.loops = append(u.loops, o.Loop)
		u.passes = append(u.passes, o.Pass)
		u.policies = append(u.policies, o.EscalatedPolicyID)
		u.rewound = append(u.rewound, o.Rewound)
		u.escalated = append(u.escalated, o.Escalated)
		u.next = append(u.next, o.Next)
	}

	var inserted []insertedPage
	if len(n.alerts) > 0 {
		rows, err := tx.Query(ctx, insertNotificationsSQL, n.tenants, n.alerts, n.responders, n.passes, n.loops, n.steps, n.schedules, now,
			vocab.PageEscalation, vocab.PagePending)
		if err != nil {
			return nil, fmt.Errorf("insert notifications: %w", err)
		}
		inserted, err = pgx.CollectRows(rows, pgx.RowToStructByPos[insertedPage])
		if err != nil {
			return nil, fmt.Errorf("insert notifications: %w", err)
		}
		// The alerts are locked by the claim and only their own escalation pages them, so the
		// outbox holds nothing the plan did not read; anything else is a bug that must not commit.
		if len(inserted) != len(n.alerts) {
			return nil, fmt.Errorf("insert notifications: %d inserted of %d planned (the outbox held pages the plan did not know of)", len(inserted), len(n.alerts))
		}
	}
	if len(e.alerts) > 0 {
		if _, err := tx.Exec(ctx, insertEventsSQL, e.tenants, e.alerts, e.kinds, e.passes, e.loops, e.steps, e.details, now); err != nil {
			return nil, fmt.Errorf("insert alert events: %w", err)
		}
	}
	tag, err := tx.Exec(ctx, updateAlertsSQL, u.alerts, u.steps, u.loops, u.passes, u.policies, u.rewound, u.escalated, u.next, now)
	if err != nil {
		return nil, fmt.Errorf("update alerts: %w", err)
	}
	// The alerts are locked by the claim, so each is updated; anything else is a bug that must
	// not commit.
	if tag.RowsAffected() != int64(len(outcomes)) {
		return nil, fmt.Errorf("update alerts: %d rows updated for %d claimed alerts", tag.RowsAffected(), len(outcomes))
	}
	return inserted, nil
}
