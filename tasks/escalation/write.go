package escalation

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// The batch's writes: three statements whatever its size, each reading its rows from arrays
// (one per column) through unnest, so a batch of 1,000 alerts costs three round trips, not
// thousands. Every instant written is the run's now ($7, $6), not the database's clock: a page's
// created_at, its first attempt, the event's at and the alert's last_escalated_at agree with
// each other and with next_escalation_at, and tests drive them all.
const (
	insertNotificationsSQL = `
insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step,
                           schedule_id, status, next_attempt_at, created_at)
select u.tenant_id, u.alert_id, u.responder_id, 'escalation', u.loop, u.step, u.schedule_id, 'pending', $7, $7
from unnest($1::text[], $2::bigint[], $3::bigint[], $4::int[], $5::int[], $6::bigint[])
     as u(tenant_id, alert_id, responder_id, loop, step, schedule_id)
on conflict (alert_id, escalation_loop, escalation_step, responder_id) do nothing`

	insertEventsSQL = `
insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
select u.tenant_id, u.alert_id, $7, u.event, u.loop, u.step, u.details::jsonb
from unnest($1::text[], $2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[])
     as u(tenant_id, alert_id, event, loop, step, details)`

	updateAlertsSQL = `
update alerts a
set escalation_step    = u.step,
    escalation_loop    = u.loop,
    last_escalated_at  = case when u.escalated then $6 else a.last_escalated_at end,
    next_escalation_at = u.next
from unnest($1::bigint[], $2::int[], $3::int[], $4::bool[], $5::timestamptz[])
     as u(id, step, loop, escalated, next)
where a.id = u.id`
)

// write stores the batch's outcomes and returns how many notifications it inserted (a page
// already in the outbox, from an earlier attempt at the same step, is not inserted again).
func write(ctx context.Context, tx pgx.Tx, outcomes []outcome, now time.Time) (pages int64, err error) {
	var n struct {
		tenants            []string
		alerts, responders []int64
		loops, steps       []int32
		schedules          []*int64
	}
	var e struct {
		tenants, kinds, details []string
		alerts                  []int64
		loops                   []int32
		steps                   []*int32
	}
	var u struct {
		alerts    []int64
		steps     []*int32
		loops     []int32
		escalated []bool
		next      []*time.Time
	}
	for _, o := range outcomes {
		for _, p := range o.Pages {
			n.tenants = append(n.tenants, o.Alert.TenantID)
			n.alerts = append(n.alerts, o.Alert.ID)
			n.responders = append(n.responders, p.ResponderID)
			n.loops = append(n.loops, o.Loop)
			n.steps = append(n.steps, *o.Step) // a page always has a step
			n.schedules = append(n.schedules, p.ScheduleID)
		}
		for _, ev := range o.Events {
			details, err := json.Marshal(ev.Details)
			if err != nil {
				return 0, fmt.Errorf("alert %d: encode %s event: %w", o.Alert.ID, ev.Kind, err)
			}
			e.tenants = append(e.tenants, o.Alert.TenantID)
			e.alerts = append(e.alerts, o.Alert.ID)
			e.kinds = append(e.kinds, ev.Kind)
			e.loops = append(e.loops, ev.Loop)
			e.steps = append(e.steps, ev.Step)
			e.details = append(e.details, string(details))
		}
		u.alerts = append(u.alerts, o.Alert.ID)
		u.steps = append(u.steps, o.Step)
		u.loops = append(u.loops, o.Loop)
		u.escalated = append(u.escalated, o.Escalated)
		u.next = append(u.next, o.Next)
	}

	if len(n.alerts) > 0 {
		tag, err := tx.Exec(ctx, insertNotificationsSQL, n.tenants, n.alerts, n.responders, n.loops, n.steps, n.schedules, now)
		if err != nil {
			return 0, fmt.Errorf("insert notifications: %w", err)
		}
		pages = tag.RowsAffected()
	}
	if len(e.alerts) > 0 {
		if _, err := tx.Exec(ctx, insertEventsSQL, e.tenants, e.alerts, e.kinds, e.loops, e.steps, e.details, now); err != nil {
			return 0, fmt.Errorf("insert alert events: %w", err)
		}
	}
	tag, err := tx.Exec(ctx, updateAlertsSQL, u.alerts, u.steps, u.loops, u.escalated, u.next, now)
	if err != nil {
		return 0, fmt.Errorf("update alerts: %w", err)
	}
	// The alerts are locked by the claim, so each is updated; anything else is a bug that must
	// not commit.
	if tag.RowsAffected() != int64(len(outcomes)) {
		return 0, fmt.Errorf("update alerts: %d rows updated for %d claimed alerts", tag.RowsAffected(), len(outcomes))
	}
	return pages, nil
}
