package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// DeliveryCount is one channel's deliveries of the period's pages, by outcome.
type DeliveryCount struct {
	Channel   string `json:"channel"` // webhook, slack, email
	Sent      int64  `json:"sent"`
	Failed    int64  `json:"failed"`
	Cancelled int64  `json:"cancelled"` // the alert was acknowledged or resolved first, or the contact method removed
	Pending   int64  `json:"pending"`   // still being retried when the report was written
}

// UnreachedPage is a page of the period that reached nobody: every delivery of it ended without
// one sent, or its responder had no contact method.
type UnreachedPage struct {
	NotificationID int64     `json:"notification_id"`
	AlertID        int64     `json:"alert_id"`
	ResponderID    int64     `json:"responder_id"`
	Name           string    `json:"name"` // empty if the responder no longer exists
	PagedAt        time.Time `json:"paged_at"`
	Reason         string    `json:"reason"` // the page's last error: no_contact_method, or its last delivery's
}

// maxUnreached is how many unreached pages a report lists (it counts them all).
const maxUnreached = 50

// deliveriesSQL counts the deliveries of the period's pages by channel and status ($4 to $7:
// sent, failed, cancelled, pending): the pages by notifications_tenant_created_idx, their
// deliveries by the unique (notification_id, ...) key.
const deliveriesSQL = `
select d.kind,
       count(*) filter (where d.status = $4),
       count(*) filter (where d.status = $5),
       count(*) filter (where d.status = $6),
       count(*) filter (where d.status = $7)
from notifications n join deliveries d on d.notification_id = n.id
where n.tenant_id = $1 and n.created_at >= $2 and n.created_at < $3
group by d.kind
order by d.kind`

// unreachedSQL lists the period's failed pages ($5: the status failed; a failed page reached
// nobody: it would be sent had any of its deliveries been), oldest first, with their total count.
const unreachedSQL = `
select n.id, n.alert_id, n.responder_id, coalesce(r.name, ''), n.created_at, coalesce(n.last_error, ''), count(*) over ()
from notifications n left join responders r on r.id = n.responder_id
where n.tenant_id = $1 and n.created_at >= $2 and n.created_at < $3 and n.status = $5
order by n.created_at, n.id
limit $4`

func queryDeliveries(ctx context.Context, tx pgx.Tx, d day, b *Body) error {
	rows, err := tx.Query(ctx, deliveriesSQL, d.tenant.id, d.start, d.end,
		vocab.DeliverySent, vocab.DeliveryFailed, vocab.DeliveryCancelled, vocab.DeliveryPending)
	if err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	b.Deliveries, err = pgx.CollectRows(rows, pgx.RowToStructByPos[DeliveryCount])
	if err != nil {
		return fmt.Errorf("deliveries: %w", err)
	}
	rows, err = tx.Query(ctx, unreachedSQL, d.tenant.id, d.start, d.end, maxUnreached, vocab.PageFailed)
	if err != nil {
		return fmt.Errorf("unreached pages: %w", err)
	}
	var total int64
	var p UnreachedPage
	_, err = pgx.ForEachRow(rows, []any{&p.NotificationID, &p.AlertID, &p.ResponderID, &p.Name, &p.PagedAt, &p.Reason, &total}, func() error {
		p.PagedAt = p.PagedAt.In(d.tenant.loc)
		b.Pages.Unreached = append(b.Pages.Unreached, p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("unreached pages: %w", err)
	}
	b.Pages.UnreachedTotal = total
	return nil
}
