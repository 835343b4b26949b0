package action

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/vocab"
)

// alertState is an alert as an action page shows it, with the responder a link was made for.
type alertState struct {
	ID         int64
	TenantID   string
	Summary    string
	Source     string
	Severity   string
	Status     vocab.AlertStatus
	CreatedAt  time.Time
	AckedAt    *time.Time
	AckedBy    *string
	ResolvedAt *time.Time
	// ResolvedBy is who resolved it, when a follow-up recorded a name (an action link's
	// responder); alerts has no column for it.
	ResolvedBy *string
	// Responder is the name of the link's responder; nil when it is no longer a responder of the
	// alert's tenant (the link is then no longer valid).
	Responder *string
	TimeZone  string
	// Done says that this request made the change.
	Done bool
}

// stateColumns read an alertState from a (alerts), r (the link's responder, left-joined on its
// id and the alert's tenant) and t (the tenant, left-joined). The last resolution's name comes
// from the follow-ups outbox (followups_alert_idx: an alert has a handful of rows).
const stateColumns = `
a.id, a.tenant_id, a.summary, a.source, a.severity, a.status, a.created_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
(select f.changed_by from followups f where f.alert_id = a.id and f.status = $3::text order by f.id desc limit 1) as resolved_by,
r.name as responder, coalesce(t.time_zone, 'UTC') as time_zone`

// showSQL reads an alert for the GET page ($1 alert, $2 responder, $3 'resolved').
const showSQL = `
select ` + stateColumns + `, false
from alerts a
left join responders r on r.id = $2::bigint and r.tenant_id = a.tenant_id
left join tenants t on t.id = a.tenant_id
where a.id = $1::bigint`

// actSQL performs an action in one statement — one transaction with its state check:
//
//   - target locks the alert (FOR UPDATE: a concurrent acknowledge waits, then sees the status the
//     other one committed) and reads the link's responder, who must still be a responder of the
//     alert's tenant;
//   - attributed says who acts, for the follow-ups trigger (alertchange: via link, by the
//     responder's name, at now). It is joined into the update so that it is evaluated before the
//     update's rows are produced; the trigger runs at the end of the statement;
//   - changed moves the alert to $4 only from the statuses in $5 (triggered → acknowledged;
//     triggered or acknowledged → resolved): a second POST, or a POST after another service's
//     change, changes nothing and says what the status is;
//   - the event records it on the alert's timeline with {"via":"link","responder_id":N}.
//
// Parameters: $1 alert, $2 responder, $3 'resolved', $4 the new status, $5 the statuses it may
// come from, $6 now, $7 'acknowledged', $8 the event, $9 via, $10-$12 the setting names, $13 now
// as the setting's text.
const actSQL = `
with target as (
    select ` + stateColumns + `
    from alerts a
    left join responders r on r.id = $2::bigint and r.tenant_id = a.tenant_id
    left join tenants t on t.id = a.tenant_id
    where a.id = $1::bigint
    for update of a
), attributed as (
    select set_config($10::text, $9::text, true), set_config($11::text, target.responder, true), set_config($12::text, $13::text, true)
    from target
), changed as (
    update alerts a
    set status = $4::text,
        acknowledged_at = case when $4::text = $7::text then $6::timestamptz else a.acknowledged_at end,
        acknowledged_by = case when $4::text = $7::text then target.responder else a.acknowledged_by end,
        resolved_at = case when $4::text = $3::text then $6::timestamptz else a.resolved_at end
    from target, attributed
    where a.id = target.id and target.responder is not null and target.status = any($5::text[])
    returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
              a.escalation_pass, a.escalation_loop, a.escalation_step
), event as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
    select tenant_id, id, $6::timestamptz, $8::text, escalation_pass, escalation_loop, escalation_step,
           jsonb_build_object('via', $9::text, 'responder_id', $2::bigint)
    from changed
)
select target.id, target.tenant_id, target.summary, target.source, target.severity,
       coalesce(c.status, target.status), target.created_at,
       coalesce(c.acknowledged_at, target.acknowledged_at), coalesce(c.acknowledged_by, target.acknowledged_by),
       coalesce(c.resolved_at, target.resolved_at),
       case when c.id is not null and $4::text = $3::text then target.responder else target.resolved_by end,
       target.responder, target.time_zone, c.id is not null
from target left join changed c on c.id = target.id`

// transitions: what each action moves an alert to, and from which statuses.
var transitions = map[vocab.Action]struct {
	to   vocab.AlertStatus
	from []string
	ev   vocab.Event
}{
	vocab.ActionAcknowledge: {vocab.AlertAcknowledged, []string{string(vocab.AlertTriggered)}, vocab.EventAcknowledged},
	vocab.ActionResolve:     {vocab.AlertResolved, []string{string(vocab.AlertTriggered), string(vocab.AlertAcknowledged)}, vocab.EventResolved},
}

// errNoAlert: the claim's alert does not exist (deleted, or never did).
var errNoAlert = errors.New("no such alert")

type store struct{ pool *pgxpool.Pool }

// show reads the claim's alert without changing anything.
func (s store) show(ctx context.Context, c Claim) (alertState, error) {
	return scanState(s.pool.QueryRow(ctx, showSQL, c.AlertID, c.ResponderID, string(vocab.AlertResolved)))
}

// act performs the claim's action at now, if the alert's status allows it, and returns the
// alert as it then is.
func (s store) act(ctx context.Context, c Claim, now time.Time) (alertState, error) {
	tr, ok := transitions[c.Action]
	if !ok {
		return alertState{}, fmt.Errorf("unknown action %q", c.Action)
	}
	return scanState(s.pool.QueryRow(ctx, actSQL, c.AlertID, c.ResponderID, string(vocab.AlertResolved), string(tr.to), tr.from,
		now, string(vocab.AlertAcknowledged), string(tr.ev), string(vocab.ViaLink),
		alertchange.SettingVia, alertchange.SettingBy, alertchange.SettingAt, alertchange.AtText(now)))
}

func scanState(row pgx.Row) (alertState, error) {
	var a alertState
	err := row.Scan(&a.ID, &a.TenantID, &a.Summary, &a.Source, &a.Severity, &a.Status, &a.CreatedAt, &a.AckedAt, &a.AckedBy,
		&a.ResolvedAt, &a.ResolvedBy, &a.Responder, &a.TimeZone, &a.Done)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, errNoAlert
	}
	if err != nil {
		return a, fmt.Errorf("action: %w", err)
	}
	return a, nil
}
