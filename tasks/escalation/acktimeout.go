package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// ackTimeoutSQL is the ack timeout pass, in one statement. The policies with a timeout drive the
// scan, each reading its own acknowledged alerts from alerts_acknowledged_idx (acknowledged_at
// long enough ago, or null).
//
//   - An alert acknowledged at least the timeout ago, whose policy is its own tenant's, returns
//     to triggered and records ack_timeout. It restarts at position 0 of the next loop of the
//     same pass: escalation_step null, escalation_loop + 1, and escalation_rewound, which tells
//     the batch that this null is the worker's own and not another service's restart. It is
//     due at once, so the same run pages it; the repeat limit is not consulted here, only after
//     that loop.
//   - One whose policy belongs to another tenant keeps its acknowledgement: another tenant's
//     timeout says nothing about it. bad_policy is recorded once (not again while the alert has a
//     bad_policy event for that policy).
//   - One acknowledged with acknowledged_at null cannot time out: it is left alone, and
//     escalation_error (acknowledged_at_missing) is recorded once.
//
// The values are parameters: $1 now, $2 and $3 the statuses acknowledged and triggered, $4 to $6
// the events bad_policy, escalation_error and ack_timeout, $7 and $8 the problem and reason named
// in their details. alerts_acknowledged_idx is partial (where status = 'acknowledged'), so the
// statement runs planned with its values (planMode, as the claim).
//
// FOR UPDATE SKIP LOCKED: a row another replica is handling is that replica's; one it restarted
// and committed meanwhile is re-checked, no longer acknowledged, and left alone.
const ackTimeoutSQL = `
with timed_out as (
    select a.id, a.tenant_id, a.acknowledged_at, a.acknowledged_by, a.escalation_step, a.escalation_loop,
           a.escalation_pass, p.id as policy_id, p.tenant_id as policy_tenant_id, p.ack_timeout_minutes,
           -- Another tenant's policy, and not recorded yet (evaluated for those rows only, each an
           -- index probe of alert_events_alert_idx).
           case when p.tenant_id <> a.tenant_id then
               not exists (select 1 from alert_events e
                           where e.alert_id = a.id and e.event = $4
                             and e.details @> jsonb_build_object('policy_id', p.id))
           end as foreign_new
    from escalation_policies p
    join alerts a on a.escalation_policy_id = p.id
    where p.ack_timeout_minutes is not null
      and a.status = $2
      and a.acknowledged_at <= $1::timestamptz - make_interval(mins => p.ack_timeout_minutes)
    for update of a skip locked
), unstamped as (
    select a.id, a.tenant_id, a.escalation_step, a.escalation_loop, a.escalation_pass, p.id as policy_id,
           p.ack_timeout_minutes
    from escalation_policies p
    join alerts a on a.escalation_policy_id = p.id
    where p.ack_timeout_minutes is not null
      and a.status = $2
      and a.acknowledged_at is null
      and not exists (select 1 from alert_events e
                      where e.alert_id = a.id and e.event = $5
                        and e.details @> jsonb_build_object('problem', $7::text))
    for update of a skip locked
), foreign_policy as (
    select * from timed_out where foreign_new
), restarted as (
    update alerts a
    set status = $3, acknowledged_at = null, acknowledged_by = null, escalation_step = null,
        escalation_loop = a.escalation_loop + 1, escalation_rewound = true, next_escalation_at = $1
    from timed_out t
    where a.id = t.id and t.policy_tenant_id = t.tenant_id
    returning a.id, a.tenant_id, a.escalation_pass, a.escalation_loop, t.acknowledged_at, t.acknowledged_by,
              t.ack_timeout_minutes
)
insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
select tenant_id, id, $1, $6::text, escalation_pass, escalation_loop, null,
       jsonb_build_object('acknowledged_at', acknowledged_at, 'acknowledged_by', acknowledged_by,
                          'ack_timeout_minutes', ack_timeout_minutes)
from restarted
union all
select tenant_id, id, $1, $4::text, escalation_pass, escalation_loop, escalation_step,
       jsonb_build_object('policy_id', policy_id, 'reason', $8::text,
                          'policy_tenant_id', policy_tenant_id, 'acknowledgement', 'kept')
from foreign_policy
union all
select tenant_id, id, $1, $5::text, escalation_pass, escalation_loop, escalation_step,
       jsonb_build_object('problem', $7::text, 'policy_id', policy_id,
                          'ack_timeout_minutes', ack_timeout_minutes)
from unstamped
returning event, tenant_id, alert_id, escalation_loop, details`

// ackEvent is an event the ack timeout pass recorded: ack_timeout (the alert returned to
// triggered), or bad data (bad_policy, escalation_error).
type ackEvent struct {
	Event    vocab.Event
	TenantID string
	AlertID  int64
	Loop     int32
	Details  map[string]any
}

// ackTimeouts runs the ack timeout pass at now, in tx; the caller commits it before the batches,
// which then escalate the restarted alerts like any other due alert.
func ackTimeouts(ctx context.Context, tx pgx.Tx, now time.Time) ([]ackEvent, error) {
	rows, err := tx.Query(ctx, ackTimeoutSQL, planMode, now, vocab.AlertAcknowledged, vocab.AlertTriggered,
		vocab.EventBadPolicy, vocab.EventError, vocab.EventAckTimeout, problemAckedAtMissing, reasonPolicyOfAnotherTenant)
	if err != nil {
		return nil, fmt.Errorf("ack timeouts: %w", err)
	}
	acks, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ackEvent])
	if err != nil {
		return nil, fmt.Errorf("ack timeouts: %w", err)
	}
	return acks, nil
}
