package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/vocab"
)

// enqueueSQL inserts, for the pages $1, one pending delivery per enabled contact method of each
// page's responder (of the page's tenant), and fails at once the pages whose responder has none
// (pending $4 to failed $3, last_error $5), with an alert event $6 stamped $2 (the run's now). It
// returns the new deliveries' ids (kind 'd') and the failed pages' ids (kind 'n'). One statement,
// whatever the number of pages; contact_methods_responder_idx serves the joins. A page that
// already has its deliveries (a retried batch) inserts nothing twice. Statuses, reason and event
// come from package vocab as parameters.
const enqueueSQL = `
with pages as (
    select n.id, n.tenant_id, n.alert_id, n.responder_id, n.escalation_loop, n.escalation_step
    from notifications n where n.id = any($1)
), ins as (
    insert into deliveries (tenant_id, notification_id, contact_method_id, kind)
    select p.tenant_id, p.id, cm.id, cm.kind
    from pages p
    join contact_methods cm on cm.responder_id = p.responder_id and cm.tenant_id = p.tenant_id and cm.enabled
    on conflict (notification_id, contact_method_id) do nothing
    returning id
), none as (
    update notifications n set status = $3, last_error = $5
    from pages p
    where n.id = p.id and n.status = $4::text
      and not exists (select 1 from contact_methods cm
                      where cm.responder_id = p.responder_id and cm.tenant_id = p.tenant_id and cm.enabled)
    returning n.id, n.tenant_id, n.alert_id, n.responder_id, n.escalation_loop, n.escalation_step
), ev as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
    select tenant_id, alert_id, $2, $6, escalation_loop, escalation_step,
           jsonb_build_object('notification_id', id, 'responder_id', responder_id)
    from none
)
select 'd', id from ins
union all
select 'n', id from none`

// Enqueuer queues the deliveries of new pages, in the transaction that inserts them.
type Enqueuer struct {
	client      *river.Client[pgx.Tx]
	maxAttempts int
}

// NewEnqueuer returns an Enqueuer inserting jobs through client (an insert-only client will do),
// each allowed maxAttempts attempts (DELIVERY_MAX_ATTEMPTS).
func NewEnqueuer(client *river.Client[pgx.Tx], maxAttempts int) *Enqueuer {
	return &Enqueuer{client: client, maxAttempts: maxAttempts}
}

// Enqueued is what one Enqueue did.
type Enqueued struct {
	// Deliveries is the number of deliveries (and jobs) queued.
	Deliveries int
	// NoContact are the pages failed at once: their responder has no enabled contact method.
	NoContact []int64
}

// Enqueue inserts the deliveries of pages and their River jobs in tx: two statements (the
// deliveries, then the jobs with COPY), whatever the number of pages. now stamps the
// no_contact_method events.
func (e *Enqueuer) Enqueue(ctx context.Context, tx pgx.Tx, pages []int64, now time.Time) (Enqueued, error) {
	var out Enqueued
	if len(pages) == 0 {
		return out, nil
	}
	rows, err := tx.Query(ctx, enqueueSQL, pages, now, vocab.PageFailed, vocab.PagePending, vocab.ReasonNoContactMethod, vocab.EventNoContactMethod)
	if err != nil {
		return out, fmt.Errorf("insert deliveries: %w", err)
	}
	var params []river.InsertManyParams
	var kind string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&kind, &id}, func() error {
		if kind == "n" {
			out.NoContact = append(out.NoContact, id)
			return nil
		}
		params = append(params, river.InsertManyParams{Args: Args{DeliveryID: id},
			InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: e.maxAttempts}})
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("insert deliveries: %w", err)
	}
	if len(params) > 0 {
		n, err := e.client.InsertManyFastTx(ctx, tx, params)
		if err != nil {
			return out, fmt.Errorf("queue deliveries: %w", err)
		}
		out.Deliveries = n
	}
	return out, nil
}
