// Package followups is the followups task: it tells everyone who was paged for an alert that
// the alert was later acknowledged, resolved, or triggered again by its ack timeout — whoever
// made the change (another service, a responder through an action link, the ack timeout, the
// heartbeat task), and by whom when known.
//
// A trigger on alerts (migration 00012_followups) records every change of status of an alert
// that has pages in the followups outbox, in the transaction that makes it, and notifies
// opsworker_followups at commit, so `serve` runs this task at once (its cron spec is the
// backstop). A run works in batches, each one transaction of four statements whatever its size:
// claim unprocessed changes with FOR UPDATE SKIP LOCKED together with their recipients (each
// enabled contact method with status_updates that was sent a page of the alert queued before the
// change), queue one follow-up message per change and recipient through delivery
// (deliveries.message 'followup', source_id the change's id: its unique index makes it once per
// change and recipient), and mark the changes processed. So each change reaches each recipient
// exactly once across replicas and reruns; a batch cut short leaves no trace and is done again by
// the next run.
//
// A page whose attempt was in flight when its alert changed is marked sent only after the change
// may have been processed. So each run ends with a second look, one more transaction of the same
// shape: the changes processed within LateWindow that have a recipient now and no message for it
// yet get theirs.
package followups

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// DefaultBatchSize is the number of changes claimed per transaction when Options.BatchSize is 0.
const DefaultBatchSize = 500

// LateWindow is how long after processing a change the task still looks for its late recipients:
// a page whose attempt was in flight at the change ends within DELIVERY_TIMEOUT (at most 5
// minutes).
const LateWindow = 10 * time.Minute

// Options configure a Task.
type Options struct {
	// Deliveries queues the messages in the batch's transaction. Required to run.
	Deliveries *delivery.Enqueuer
	// Registerer receives the task's counters; nil: no metrics.
	Registerer prometheus.Registerer
	// BatchSize is the number of changes per transaction; 0: DefaultBatchSize.
	BatchSize int
	// ConsoleURL, when set, is the console's base URL (PUBLIC_URL with the console on): each
	// message links to its alert's page, ConsoleURL + "/ui/alerts/" + id.
	ConsoleURL string
}

// Task is the followups task, a scheduler.Job, safe to run from several replicas at once.
type Task struct {
	pool       *pgxpool.Pool
	deliveries *delivery.Enqueuer
	batchSize  int
	consoleURL string
	changes    prometheus.Counter
	messages   prometheus.Counter
}

var _ scheduler.Job = (*Task)(nil)

// New returns the followups task working on pool.
func New(pool *pgxpool.Pool, o Options) *Task {
	size := o.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	return &Task{pool: pool, deliveries: o.Deliveries, batchSize: size, consoleURL: o.ConsoleURL,
		changes:  scheduler.Counter(o.Registerer, "followups", "changes_total", "Status changes of paged alerts processed (each told to everyone paged for the alert)."),
		messages: scheduler.Counter(o.Registerer, "followups", "messages_total", "Follow-up messages queued: one per change and contact method that was sent a page of the alert."),
	}
}

// Name is the job's name: "followups".
func (t *Task) Name() string { return "followups" }

// Run processes every unprocessed change, in batches, at now (the processed_at it stamps).
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	if t.deliveries == nil {
		return nil, errors.New("followups: no delivery queue")
	}
	log := scheduler.Logger(ctx)
	var changes, messages, batches, late int
	summary := func() scheduler.Summary {
		return scheduler.Summary{"changes": changes, "messages": messages, "batches": batches, "late_messages": late}
	}
	for batch := 1; ; batch++ {
		if err := ctx.Err(); err != nil {
			return summary(), fmt.Errorf("followups: before batch %d: %w", batch, err)
		}
		claimed, queued, err := t.runBatch(ctx, claimSQL, now, t.batchSize, string(vocab.MessagePage), string(vocab.DeliverySent))
		if err != nil {
			return summary(), fmt.Errorf("followups: batch %d: %w", batch, err)
		}
		if len(claimed) == 0 {
			break
		}
		batches++
		changes += len(claimed)
		messages += queued
		t.changes.Add(float64(len(claimed)))
		t.messages.Add(float64(queued))
		for _, c := range claimed {
			log.Info("follow-up queued", "tenant_id", c.TenantID, "alert_id", c.AlertID, "change", string(c.Type),
				"via", c.Via, "recipients", len(c.Recipients))
		}
		if len(claimed) < t.batchSize {
			break
		}
	}
	told, queued, err := t.runBatch(ctx, lateSQL, now, now.Add(-LateWindow), string(vocab.MessagePage), string(vocab.DeliverySent),
		string(vocab.MessageFollowup))
	if err != nil {
		return summary(), fmt.Errorf("followups: late recipients: %w", err)
	}
	late += queued
	messages += queued
	t.messages.Add(float64(queued))
	for _, c := range told {
		log.Info("follow-up queued for a page sent after the change", "tenant_id", c.TenantID, "alert_id", c.AlertID,
			"change", string(c.Type), "via", c.Via, "recipients", len(c.Recipients))
	}
	return summary(), nil
}

// change is one claimed change with its recipients.
type change struct {
	ID         int64
	TenantID   string
	AlertID    int64
	Type       vocab.FollowupType
	Via        vocab.Via
	Followup   delivery.Followup
	Recipients []int64 // contact methods
}

// claimSQL claims up to $1 unprocessed changes, oldest first, skipping those another replica
// holds, and returns a row per change and recipient (a change without recipients once, with a
// null recipient): every enabled contact method with status_updates, of the alert's tenant, that
// was sent a page of the alert ($2 'page', $3 'sent') queued before the change (a page of a
// re-triggered alert, after it, is news of its own). followups_pending_idx serves the claim;
// notifications_page_key (alert_id first), the deliveries' unique key (notification_id first) and
// the contact methods' primary key serve the recipients.
const claimSQL = `
with claimed as (
    select f.id, f.tenant_id, f.alert_id, f.status, f.changed_at, f.changed_by, f.via, f.created_at
    from followups f
    where f.processed_at is null
    order by f.id
    limit $1
    for update skip locked
)
select c.id, c.tenant_id, c.alert_id, c.status, c.changed_at, c.changed_by, c.via,
       a.summary, a.source, a.severity, a.created_at, r.contact_method_id
from claimed c
join alerts a on a.id = c.alert_id
left join lateral (
    select distinct d.contact_method_id
    from notifications n
    join deliveries d on d.notification_id = n.id and d.message = $2::text and d.status = $3::text and d.created_at <= c.created_at
    join contact_methods cm on cm.id = d.contact_method_id and cm.tenant_id = c.tenant_id and cm.enabled and cm.status_updates
    where n.alert_id = c.alert_id
) r on true
order by c.id, r.contact_method_id`

// lateSQL finds the late recipients of the changes processed since $1: contact methods that are
// recipients by claimSQL's rule now and have no follow-up of the change ($4 'followup') yet —
// their page was sent after the change was processed. It returns claimSQL's columns (only rows
// with a recipient); followups_processed_idx serves the window, deliveries_message_once_idx the
// "not yet".
const lateSQL = `
select distinct f.id, f.tenant_id, f.alert_id, f.status, f.changed_at, f.changed_by, f.via,
       a.summary, a.source, a.severity, a.created_at, d.contact_method_id
from followups f
join alerts a on a.id = f.alert_id
join notifications n on n.alert_id = f.alert_id
join deliveries d on d.notification_id = n.id and d.message = $2::text and d.status = $3::text and d.created_at <= f.created_at
join contact_methods cm on cm.id = d.contact_method_id and cm.tenant_id = f.tenant_id and cm.enabled and cm.status_updates
where f.processed_at >= $1::timestamptz
  and not exists (select 1 from deliveries x
                  where x.message = $4::text and x.source_id = f.id and x.contact_method_id = d.contact_method_id)
order by f.id, d.contact_method_id`

// doneSQL marks the changes $1 processed (once: a late recipient keeps the first time) and counts
// their messages ($3 'followup'), deliveries_message_once_idx serving the count.
const doneSQL = `
update followups f
set processed_at = coalesce(f.processed_at, $2),
    messages = (select count(*) from deliveries x where x.message = $3::text and x.source_id = f.id)
where f.id = any($1::bigint[])`

// runBatch runs query (claimSQL or lateSQL, with args), queues a message per change and recipient
// it returns, and marks the changes processed, in one transaction.
func (t *Task) runBatch(ctx context.Context, query string, now time.Time, args ...any) ([]*change, int, error) {
	tx, err := scheduler.Begin(ctx, t.pool)
	if err != nil {
		return nil, 0, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	claimed, err := t.claim(ctx, tx, query, args...)
	if err != nil || len(claimed) == 0 {
		return nil, 0, err
	}
	var msgs []delivery.Message
	ids := make([]int64, len(claimed))
	for i, c := range claimed {
		ids[i] = c.ID
		for _, cm := range c.Recipients {
			f := c.Followup
			msgs = append(msgs, delivery.Message{Kind: vocab.MessageFollowup, TenantID: c.TenantID, SourceID: c.ID, ContactMethodID: cm, Followup: &f})
		}
	}
	queued, err := t.deliveries.EnqueueMessages(ctx, tx, msgs)
	if err != nil {
		return nil, 0, err
	}
	if _, err := tx.Exec(ctx, doneSQL, ids, now, string(vocab.MessageFollowup)); err != nil {
		return nil, 0, fmt.Errorf("mark processed: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, 0, fmt.Errorf("commit: %w", err)
	}
	return claimed, queued, nil
}

// claim runs query (claimSQL or lateSQL) and groups its rows by change.
func (t *Task) claim(ctx context.Context, tx pgx.Tx, query string, args ...any) ([]*change, error) {
	rows, err := tx.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	var out []*change
	var (
		id, alertID     int64
		tenant, status  string
		at, created     time.Time
		by, via         *string
		summary, source string
		severity        string
		recipient       *int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &tenant, &alertID, &status, &at, &by, &via, &summary, &source, &severity, &created, &recipient}, func() error {
		if len(out) == 0 || out[len(out)-1].ID != id {
			c := &change{ID: id, TenantID: tenant, AlertID: alertID, Type: followupType(vocab.AlertStatus(status)), Via: vocab.ViaService}
			if via != nil {
				c.Via = vocab.Via(*via)
			}
			c.Followup = delivery.Followup{Type: string(c.Type), By: by, Via: string(c.Via), At: at,
				Alert: delivery.AlertInfo{ID: alertID, Summary: summary, Source: source, Severity: severity, Status: vocab.AlertStatus(status), CreatedAt: created}}
			if t.consoleURL != "" {
				c.Followup.Links = &delivery.LinkBodies{Console: t.consoleURL + "/ui/alerts/" + strconv.FormatInt(alertID, 10)}
			}
			out = append(out, c)
		}
		if recipient != nil {
			c := out[len(out)-1]
			c.Recipients = append(c.Recipients, *recipient)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// followupType is the message type of a change to status.
func followupType(status vocab.AlertStatus) vocab.FollowupType {
	switch status {
	case vocab.AlertAcknowledged:
		return vocab.FollowupAcknowledged
	case vocab.AlertResolved:
		return vocab.FollowupResolved
	}
	return vocab.FollowupRetriggered
}
