package delivery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// recordSQL records one attempt of delivery $1 (or its cancellation) in one statement: the
// delivery's attempts, error, response code and status ($4: pending while it will be retried,
// or final: sent, failed, cancelled); the page's status rolled up from its deliveries (sent when
// any is sent, failed when all have ended without one); and, when it failed for good, the alert
// event delivery_failed. Only a pending delivery is updated, so a late duplicate of an attempt
// (a rescued job) changes nothing. It returns the seconds from the delivery's queueing to now,
// for the latency histogram.
const recordSQL = `
with d as (
    update deliveries set attempts = attempts + $5, last_error = $2, response_code = $3, status = $4,
           sent_at = case when $4 = 'sent' then now() end,
           finished_at = case when $4 <> 'pending' then now() end
    where id = $1 and status = 'pending'
    returning id, tenant_id, notification_id, kind, status, attempts, created_at
), n as (
    update notifications n
    set status = case when d.status = 'sent' then 'sent'
                      when not exists (select 1 from deliveries o
                                       where o.notification_id = n.id and o.id <> d.id and o.status in ('pending', 'sent'))
                           and d.status <> 'pending' then 'failed'
                      else n.status end,
        sent_at = case when d.status = 'sent' then coalesce(n.sent_at, now()) else n.sent_at end,
        attempts = n.attempts + $5,
        last_error = coalesce($2, n.last_error)
    from d
    where n.id = d.notification_id and n.status <> 'sent'
    returning n.id, n.alert_id, n.escalation_loop, n.escalation_step, n.responder_id
), ev as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
    select d.tenant_id, n.alert_id, now(), 'delivery_failed', n.escalation_loop, n.escalation_step,
           jsonb_build_object('delivery_id', d.id, 'notification_id', n.id, 'responder_id', n.responder_id,
                              'channel', d.kind, 'reason', $6::text, 'attempts', d.attempts, 'error', $2::text)
    from d join n on n.id = d.notification_id
    where d.status = 'failed'
)
select extract(epoch from now() - created_at)::float8 from d`

// outcome is what an attempt recorded.
type outcome struct {
	status   string // pending (retried), sent, failed, cancelled
	errText  string
	code     int
	reason   string // of a final failure or a cancellation
	attempts int    // 1 for an attempt, 0 for a cancellation before one
}

// record stores o for delivery id and returns the seconds since the delivery was queued, and
// whether the delivery was still pending (false: another attempt recorded it already).
func record(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id int64, o outcome) (float64, bool, error) {
	var errText *string
	if o.errText != "" {
		errText = &o.errText
	}
	var code *int
	if o.code != 0 {
		code = &o.code
	}
	var since float64
	err := db.QueryRow(ctx, recordSQL, id, errText, code, o.status, o.attempts, o.reason).Scan(&since)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("record delivery %d: %w", id, err)
	}
	return since, true, nil
}
