package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// Page is everything one attempt of a delivery needs, read in one query (loadSQL).
type Page struct {
	DeliveryID int64
	TenantID   string
	Kind       string               // webhook, slack or email
	Status     vocab.DeliveryStatus // the delivery's: pending, or already final
	Attempts   int                  // attempts made before this one
	QueuedAt   time.Time            // when the delivery was queued
	Address    string               // the contact method's; empty when it is gone or disabled
	Secret     string               // the tenant's webhook secret; empty when it has none

	NotificationID int64
	Loop, Step     int
	PagedAt        time.Time

	Alert     AlertInfo
	Responder Named
	Schedule  *Named // the schedule the responder was on call for; nil for a direct target
}

// AlertInfo is what a page says of its alert.
type AlertInfo struct {
	ID        int64             `json:"id"`
	Summary   string            `json:"summary"`
	Source    string            `json:"source"`
	Severity  string            `json:"severity"`
	Status    vocab.AlertStatus `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
}

// Named is a responder or a schedule, as a page names it.
type Named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// loadSQL reads a delivery with its page, alert, responder, contact method, tenant secret and
// schedule: one primary-key lookup per table.
const loadSQL = `
select d.id, d.tenant_id, d.kind, d.status, d.attempts, d.created_at,
       case when cm.enabled then cm.address else '' end, coalesce(t.webhook_secret, ''),
       n.id, n.escalation_loop, n.escalation_step, n.created_at,
       a.id, a.summary, a.source, a.severity, a.status, a.created_at,
       n.responder_id, coalesce(r.name, ''), n.schedule_id, coalesce(s.name, '')
from deliveries d
join notifications n on n.id = d.notification_id
join alerts a on a.id = n.alert_id
left join contact_methods cm on cm.id = d.contact_method_id
left join tenants t on t.id = d.tenant_id
left join responders r on r.id = n.responder_id
left join oncall_schedules s on s.id = n.schedule_id
where d.id = $1`

// errNoDelivery: the delivery is gone (its alert was deleted, and everything with it).
var errNoDelivery = errors.New("no such delivery")

func loadPage(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id int64) (*Page, error) {
	var p Page
	var scheduleID *int64
	var scheduleName string
	err := q.QueryRow(ctx, loadSQL, id).Scan(&p.DeliveryID, &p.TenantID, &p.Kind, &p.Status, &p.Attempts, &p.QueuedAt,
		&p.Address, &p.Secret, &p.NotificationID, &p.Loop, &p.Step, &p.PagedAt,
		&p.Alert.ID, &p.Alert.Summary, &p.Alert.Source, &p.Alert.Severity, &p.Alert.Status, &p.Alert.CreatedAt,
		&p.Responder.ID, &p.Responder.Name, &scheduleID, &scheduleName)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDelivery
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery %d: %w", id, err)
	}
	if scheduleID != nil {
		p.Schedule = &Named{ID: *scheduleID, Name: scheduleName}
	}
	return &p, nil
}
