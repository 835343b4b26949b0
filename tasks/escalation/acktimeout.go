package escalation

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ackTimeoutSQL returns to triggered, in one statement, every acknowledged alert whose policy's
// ack timeout has passed, and records ack_timeout. The alert restarts at position 0 of the next
// loop (escalation_step null, escalation_loop + 1) and is due at once, so the same run pages it;
// the repeat limit is not consulted here, only after that pass. The policies with a timeout
// drive the scan, each reading its own acknowledged alerts from alerts_acknowledged_idx. SKIP
// LOCKED: a row another replica is restarting is that replica's; one it restarted and committed
// meanwhile is re-checked, no longer acknowledged, and left alone.
const ackTimeoutSQL = `
with timed_out as (
    select a.id, a.acknowledged_at, a.acknowledged_by, p.ack_timeout_minutes
    from escalation_policies p
    join alerts a on a.escalation_policy_id = p.id
    where p.ack_timeout_minutes is not null
      and a.status = 'acknowledged'
      and a.acknowledged_at <= $1::timestamptz - make_interval(mins => p.ack_timeout_minutes)
    for update of a skip locked
), restarted as (
    update alerts a
    set status = 'triggered', acknowledged_at = null, acknowledged_by = null,
        escalation_step = null, escalation_loop = a.escalation_loop + 1, next_escalation_at = $1
    from timed_out t
    where a.id = t.id
    returning a.id, a.tenant_id, a.escalation_loop, t.acknowledged_at, t.acknowledged_by, t.ack_timeout_minutes
)
insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
select tenant_id, id, $1, 'ack_timeout', escalation_loop, null,
       jsonb_build_object('acknowledged_at', acknowledged_at, 'acknowledged_by', acknowledged_by,
                          'ack_timeout_minutes', ack_timeout_minutes)
from restarted
returning tenant_id, alert_id, escalation_loop`

// restartedAlert is an alert the ack timeout returned to triggered.
type restartedAlert struct {
	TenantID string
	AlertID  int64
	Loop     int32
}

// ackTimeouts runs the ack timeout pass at now, in tx; the caller commits it before the batches,
// which then escalate the restarted alerts like any other due alert.
func ackTimeouts(ctx context.Context, tx pgx.Tx, now time.Time) ([]restartedAlert, error) {
	rows, err := tx.Query(ctx, ackTimeoutSQL, now)
	if err != nil {
		return nil, fmt.Errorf("ack timeouts: %w", err)
	}
	restarted, err := pgx.CollectRows(rows, pgx.RowToStructByPos[restartedAlert])
	if err != nil {
		return nil, fmt.Errorf("ack timeouts: %w", err)
	}
	return restarted, nil
}
