package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/vocab"
)

// Attempt is everything one attempt of a delivery needs, read in one query (loadSQL): where it
// goes and what it says — a page, a follow-up or a handoff notice (exactly one of Page, Followup
// and Notice is set).
type Attempt struct {
	DeliveryID int64
	TenantID   string
	Kind       string               // webhook, slack or email: the channel
	Message    vocab.Message        // page, followup or notice
	Status     vocab.DeliveryStatus // the delivery's: pending, or already final
	Attempts   int                  // attempts made before this one
	QueuedAt   time.Time            // when the delivery was queued
	// Address is the contact method's or the subscription's; empty when it is gone or disabled.
	Address string
	Secret  string // the tenant's webhook secret; empty when it has none
	Zone    string // the tenant's time zone: a follow-up's time is told in it
	// Thread is, for a follow-up e-mail, the Message-ID (its local part, "delivery-12") of the
	// latest page of the alert sent to the same contact method: the follow-up replies in its
	// thread. Empty otherwise.
	Thread string

	Page     *Page
	Followup *Followup
	Notice   *Notice

	// bad is why the stored content cannot be read (a payload that does not decode): the
	// delivery then fails for good (bad_page) rather than being retried.
	bad error
}

// Page is what a page says: the alert, who is paged, at which step, and its action links.
type Page struct {
	NotificationID int64
	Loop, Step     int
	PagedAt        time.Time
	Alert          AlertInfo
	Responder      Named
	Schedule       *Named // the schedule the responder was on call for; nil for a direct target
	// Links are the page's acknowledge and resolve links; empty when links are off
	// (PUBLIC_URL and ACTION_SECRET unset).
	Links action.Links
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

// loadSQL reads a delivery with everything its attempt needs: its recipient (a contact method
// or a subscription, its address only while enabled), the tenant's secret and zone, and for a
// page its notification, alert, responder and schedule — one primary-key lookup per table. For
// a follow-up e-mail ($2 followup, $3 email, $4 page, $5 sent) it also finds the latest page of
// the alert sent to the same contact method, to reply in its thread: the alert's pages through
// notifications_page_key, their deliveries through deliveries_notification_id_contact_method_id_key.
const loadSQL = `
select d.id, d.tenant_id, d.kind, d.message, d.status, d.attempts, d.created_at,
       coalesce(case when cm.enabled then cm.address end, case when ss.enabled then ss.address end, ''),
       coalesce(t.webhook_secret, ''), coalesce(t.time_zone, 'UTC'), d.payload, coalesce(th.ref, ''),
       n.id, n.escalation_loop, n.escalation_step, n.created_at,
       a.id, a.summary, a.source, a.severity, a.status, a.created_at,
       n.responder_id, r.name, n.schedule_id, s.name
from deliveries d
left join notifications n on n.id = d.notification_id
left join alerts a on a.id = n.alert_id
left join contact_methods cm on cm.id = d.contact_method_id
left join schedule_subscriptions ss on ss.id = d.subscription_id
left join tenants t on t.id = d.tenant_id
left join responders r on r.id = n.responder_id
left join oncall_schedules s on s.id = n.schedule_id
left join lateral (
    select 'delivery-' || p.id as ref
    from notifications pn
    join deliveries p on p.notification_id = pn.id and p.contact_method_id = d.contact_method_id
    where d.message = $2::text and d.kind = $3::text
      and pn.alert_id = (d.payload->'alert'->>'id')::bigint and p.message = $4::text and p.status = $5::text
    order by p.sent_at desc, p.id desc
    limit 1
) th on true
where d.id = $1`

// errNoDelivery: the delivery is gone (its alert was deleted, and everything with it).
var errNoDelivery = errors.New("no such delivery")

func loadAttempt(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id int64) (*Attempt, error) {
	var a Attempt
	var payload []byte
	var (
		notificationID, alertID, responderID, scheduleID *int64
		loop, step                                       *int
		pagedAt, alertCreated                            *time.Time
		summary, source, severity, responderName, sched  *string
		alertStatus                                      *vocab.AlertStatus
	)
	err := q.QueryRow(ctx, loadSQL, id, vocab.MessageFollowup, "email", vocab.MessagePage, vocab.DeliverySent).Scan(
		&a.DeliveryID, &a.TenantID, &a.Kind, &a.Message, &a.Status, &a.Attempts, &a.QueuedAt,
		&a.Address, &a.Secret, &a.Zone, &payload, &a.Thread,
		&notificationID, &loop, &step, &pagedAt,
		&alertID, &summary, &source, &severity, &alertStatus, &alertCreated,
		&responderID, &responderName, &scheduleID, &sched)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoDelivery
	}
	if err != nil {
		return nil, fmt.Errorf("load delivery %d: %w", id, err)
	}
	switch a.Message {
	case vocab.MessagePage:
		if notificationID == nil || alertID == nil {
			return nil, errNoDelivery // a page always has both (deliveries_page_check, cascades)
		}
		a.Page = &Page{NotificationID: *notificationID, Loop: *loop, Step: *step, PagedAt: *pagedAt,
			Alert:     AlertInfo{ID: *alertID, Summary: *summary, Source: *source, Severity: *severity, Status: *alertStatus, CreatedAt: *alertCreated},
			Responder: Named{ID: *responderID, Name: deref(responderName)}}
		if scheduleID != nil {
			a.Page.Schedule = &Named{ID: *scheduleID, Name: deref(sched)}
		}
	case vocab.MessageFollowup:
		a.Followup = new(Followup)
		if err := json.Unmarshal(payload, a.Followup); err != nil {
			a.bad = fmt.Errorf("the follow-up's payload: %w", err)
		}
	case vocab.MessageNotice:
		a.Notice = new(Notice)
		if err := json.Unmarshal(payload, a.Notice); err != nil {
			a.bad = fmt.Errorf("the notice's payload: %w", err)
		}
	default:
		a.bad = fmt.Errorf("unknown message %q", a.Message)
	}
	return &a, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
