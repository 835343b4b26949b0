package delivery

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// attemptsMade is how many attempts a delivery has had once this one ends: the row's count plus
// this one (made: 1 when a request went out, 0 when none did), and at least River's count of the
// job's attempts (River's attempt is 1-based and counts this one) — an attempt whose outcome was
// never recorded (its process died after sending, or the database was unreachable to record it)
// still counts, since its request may well have arrived. River does not count snoozes (a
// Retry-After, a destination at its limit), the row counts those that sent.
func attemptsMade(row, riverAttempt, made int) (attempts, added int) {
	attempts = max(row+made, riverAttempt-1+made)
	return attempts, attempts - row
}

// recordSQL records one attempt of delivery $1 (or its cancellation) in one statement: the
// delivery's attempts ($5), error ($2), response code ($3) and status ($4: pending while it will
// be retried, or final: sent, failed, cancelled); the status of what it delivers rolled up from
// its deliveries — a page's (notifications) or a handoff notice's (handoff_notices): sent when
// any is sent, failed when all have ended without one; and, when a page's delivery failed for
// good, the alert event delivery_failed. Only a pending delivery is updated, so a late duplicate
// of an attempt (a rescued job) changes nothing. It returns the seconds from the delivery's
// queueing to now, for the latency histogram. The page's attempts grow by $6; $7 is the reason
// of a final failure. Statuses, messages and the event come from package vocab as parameters
// ($8 sent, $9 pending, $10 failed, $11 and $12 the page's sent and failed, $13 delivery_failed,
// $14 and $15 the notice's sent and failed, $16 the message notice), positional: named arguments
// would cost a rewrite of the statement on every attempt. Every table is reached by its primary
// key; the roll-up's look at a page's other deliveries by
// deliveries_notification_id_contact_method_id_key, at a notice's by deliveries_message_once_idx
// (EXPLAIN of the generic plan).
const recordSQL = `
with d as (
    update deliveries set attempts = $5, last_error = $2, response_code = $3, status = $4,
           sent_at = case when $4 = $8::text then now() end,
           finished_at = case when $4 <> $9::text then now() end
    where id = $1 and status = $9::text
    returning id, tenant_id, notification_id, message, source_id, kind, status, attempts, created_at
), n as (
    update notifications n
    set status = case when d.status = $8::text then $11::text
                      when not exists (select 1 from deliveries o
                                       where o.notification_id = n.id and o.id <> d.id and o.status in ($9::text, $8::text))
                           and d.status <> $9::text then $12::text
                      else n.status end,
        sent_at = case when d.status = $8::text then coalesce(n.sent_at, now()) else n.sent_at end,
        attempts = n.attempts + $6,
        last_error = coalesce($2, n.last_error)
    from d
    where n.id = d.notification_id and n.status <> $11::text
    returning n.id, n.alert_id, n.escalation_loop, n.escalation_step, n.responder_id
), h as (
    update handoff_notices h
    set status = case when d.status = $8::text then $14::text
                      when not exists (select 1 from deliveries o
                                       where o.message = $16::text and o.source_id = h.id and o.id <> d.id
                                         and o.status in ($9::text, $8::text))
                           and d.status <> $9::text then $15::text
                      else h.status end,
        last_error = case when d.status = $8::text then null else coalesce($2, h.last_error) end
    from d
    where d.message = $16::text and h.id = d.source_id and h.status <> $14::text
), ev as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
    select d.tenant_id, n.alert_id, now(), $13, n.escalation_loop, n.escalation_step,
           jsonb_build_object('delivery_id', d.id, 'notification_id', n.id, 'responder_id', n.responder_id,
                              'channel', d.kind, 'reason', $7::text, 'attempts', d.attempts, 'error', $2::text)
    from d join n on n.id = d.notification_id
    where d.status = $10::text
)
select extract(epoch from now() - created_at)::float8 from d`

// outcome is what an attempt recorded.
type outcome struct {
	status  vocab.DeliveryStatus // pending (retried), sent, failed, cancelled
	errText string
	code    int
	reason  vocab.Reason // of a final failure or a cancellation
	// attempts is the delivery's attempts made, this one included; added is how many more than
	// the row said (the page's attempts grow by as many). See attemptsMade.
	attempts, added int
}

// record stores o for delivery id and returns the seconds since the delivery was queued, and
// whether the delivery was still pending (false: another attempt recorded it already).
func record(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id int64, o outcome) (float64, bool, error) {
	var since float64
	err := db.QueryRow(ctx, recordSQL, recordArgs(id, o)...).Scan(&since)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("record delivery %d: %w", id, err)
	}
	return since, true, nil
}

// recordArgs are recordSQL's parameters for o of delivery id.
func recordArgs(id int64, o outcome) []any {
	var errText *string
	if o.errText != "" {
		errText = &o.errText
	}
	var code *int
	if o.code != 0 {
		code = &o.code
	}
	return []any{id, errText, code, o.status, o.attempts, o.added, o.reason,
		vocab.DeliverySent, vocab.DeliveryPending, vocab.DeliveryFailed, vocab.PageSent, vocab.PageFailed, vocab.EventDeliveryFailed,
		vocab.NoticeSent, vocab.NoticeFailed, vocab.MessageNotice}
}
