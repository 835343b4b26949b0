package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/vocab"
)

// Message is a message that is not a page — a follow-up or a handoff notice — for one recipient,
// queued by a task in its own transaction with EnqueueMessages. Its content is fixed when it is
// queued (it tells what was true at the change), unlike a page's, which is read when it is sent.
type Message struct {
	// Kind is vocab.MessageFollowup or vocab.MessageNotice.
	Kind vocab.Message
	// TenantID owns the message; its webhook secret signs it.
	TenantID string
	// SourceID is the outbox row the message comes from (a follow-up's or a notice's id): with
	// Kind and the recipient it makes the message once across replicas and reruns.
	SourceID int64
	// ContactMethodID or SubscriptionID is the recipient: exactly one is set.
	ContactMethodID, SubscriptionID int64
	// Followup or Notice is the content, by Kind.
	Followup *Followup
	Notice   *Notice
}

// Followup tells a contact method that an alert it was paged for changed: acknowledged,
// resolved, or triggered again by an ack timeout. Its webhook body is DESIGN's alert.acknowledged
// (alert.resolved, alert.retriggered): these fields plus delivery_id and tenant_id.
type Followup struct {
	Type  string      `json:"type"` // alert.acknowledged, alert.resolved, alert.retriggered
	Alert AlertInfo   `json:"alert"`
	By    *string     `json:"by"`  // who made the change, when known
	Via   string      `json:"via"` // link, service, ack_timeout, heartbeat
	At    time.Time   `json:"at"`
	Links *LinkBodies `json:"links,omitempty"`
}

// LinkBodies are links a message may carry besides its actions (the console's page of the alert).
type LinkBodies struct {
	Console string `json:"console,omitempty"`
}

// Notice tells a schedule's subscribers who is on call from At (oncall.changed), or a responder
// that their shift starts at At (oncall.upcoming). Its webhook body is DESIGN's: these fields
// plus delivery_id and tenant_id.
type Notice struct {
	Type     string         `json:"type"` // oncall.changed, oncall.upcoming
	Schedule ScheduleNotice `json:"schedule"`
	At       time.Time      `json:"at"`
	Until    *time.Time     `json:"until"` // when the next change comes, if one comes within the horizon computed
	OnCall   []Named        `json:"on_call"`
	OffCall  []Named        `json:"off_call"`
}

// ScheduleNotice names the schedule of a notice, with its zone (times in texts are shown in it).
type ScheduleNotice struct {
	ID       int64  `json:"id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// enqueueMessagesSQL inserts one delivery per message, its channel (kind) taken from its
// recipient, skipping a recipient that is gone or disabled and a message already queued (the
// unique index deliveries_message_once_idx), and returns the new deliveries' ids.
const enqueueMessagesSQL = `
insert into deliveries (tenant_id, message, source_id, contact_method_id, subscription_id, kind, payload)
select m.tenant_id, m.message, m.source_id, cm.id, ss.id, coalesce(cm.kind, ss.kind), m.payload
from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::jsonb[])
     as m (tenant_id, message, source_id, contact_method_id, subscription_id, payload)
left join contact_methods cm on cm.id = m.contact_method_id and cm.tenant_id = m.tenant_id and cm.enabled
left join schedule_subscriptions ss on ss.id = m.subscription_id and ss.tenant_id = m.tenant_id and ss.enabled
where cm.id is not null or ss.id is not null
on conflict (message, source_id, contact_method_id, subscription_id) where message <> 'page' do nothing
returning id`

// EnqueueMessages inserts msgs' deliveries and their River jobs in tx: two statements whatever
// their number. A message whose recipient is gone or disabled is skipped, and one already queued
// is not queued again. It returns the number queued.
func (e *Enqueuer) EnqueueMessages(ctx context.Context, tx pgx.Tx, msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	var (
		tenants, kinds = make([]string, len(msgs)), make([]string, len(msgs))
		sources        = make([]int64, len(msgs))
		methods, subs  = make([]*int64, len(msgs)), make([]*int64, len(msgs))
		payloads       = make([][]byte, len(msgs))
	)
	for i, m := range msgs {
		var content any
		switch {
		case m.Kind == vocab.MessageFollowup && m.Followup != nil:
			content = m.Followup
		case m.Kind == vocab.MessageNotice && m.Notice != nil:
			content = m.Notice
		default:
			return 0, fmt.Errorf("message %d: kind %q without its content", i, m.Kind)
		}
		if (m.ContactMethodID == 0) == (m.SubscriptionID == 0) {
			return 0, fmt.Errorf("message %d: want exactly one recipient, a contact method or a subscription", i)
		}
		b, err := json.Marshal(content)
		if err != nil {
			return 0, fmt.Errorf("message %d: %w", i, err)
		}
		tenants[i], kinds[i], sources[i], payloads[i] = m.TenantID, string(m.Kind), m.SourceID, b
		if m.ContactMethodID != 0 {
			methods[i] = &m.ContactMethodID
		} else {
			subs[i] = &m.SubscriptionID
		}
	}
	rows, err := tx.Query(ctx, enqueueMessagesSQL, tenants, kinds, sources, methods, subs, payloads)
	if err != nil {
		return 0, fmt.Errorf("insert messages: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("insert messages: %w", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	params := make([]river.InsertManyParams, len(ids))
	for i, id := range ids {
		params[i] = river.InsertManyParams{Args: Args{DeliveryID: id}, InsertOpts: &river.InsertOpts{Queue: Queue, MaxAttempts: e.maxAttempts}}
	}
	n, err := e.client.InsertManyFastTx(ctx, tx, params)
	if err != nil {
		return 0, fmt.Errorf("queue messages: %w", err)
	}
	return n, nil
}
