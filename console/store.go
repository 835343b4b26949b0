package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// store reads what the pages show. Every statement is plain and parameterised and reads an
// index range (TestStoreQueryPlans checks the ones that grow with the history); the run history
// is read through package scheduler, which owns it.
type store struct {
	pool *pgxpool.Pool
}

// tenant is a row of tenants.
type tenant struct {
	ID, Name, TimeZone string
}

func (st store) tenants(ctx context.Context) ([]tenant, error) {
	rows, err := st.pool.Query(ctx, `select id, name, time_zone from tenants order by id`)
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant, error) {
		var t tenant
		return t, r.Scan(&t.ID, &t.Name, &t.TimeZone)
	})
	if err != nil {
		return nil, fmt.Errorf("tenants: %w", err)
	}
	return out, nil
}

// Alert statuses, for validating a filter.
var alertStatuses = []string{"triggered", "acknowledged", "resolved"}

// alertRow is an alert as the pages show it.
type alertRow struct {
	ID                 int64      `json:"id"`
	TenantID           string     `json:"tenant_id"`
	TimeZone           string     `json:"-"` // the tenant's, for display; UTC when unknown
	Source             string     `json:"source"`
	Summary            string     `json:"summary"`
	Severity           string     `json:"severity"`
	Status             string     `json:"status"`
	EscalationPolicyID *int64     `json:"escalation_policy_id"`
	CreatedAt          time.Time  `json:"created_at"`
	AcknowledgedAt     *time.Time `json:"acknowledged_at"`
	AcknowledgedBy     *string    `json:"acknowledged_by"`
	ResolvedAt         *time.Time `json:"resolved_at"`
	EscalationStep     *int32     `json:"escalation_step"`
	EscalationLoop     int32      `json:"escalation_loop"`
	EscalationPass     int32      `json:"escalation_pass"`
	LastEscalatedAt    *time.Time `json:"last_escalated_at"`
	NextEscalationAt   *time.Time `json:"next_escalation_at"`
}

const alertColumns = `a.id, a.tenant_id, coalesce(t.time_zone, 'UTC'), a.source, a.summary, a.severity, a.status,
       a.escalation_policy_id, a.created_at, a.acknowledged_at, a.acknowledged_by, a.resolved_at,
       a.escalation_step, a.escalation_loop, a.escalation_pass, a.last_escalated_at, a.next_escalation_at`

func scanAlert(r pgx.CollectableRow) (alertRow, error) {
	var a alertRow
	err := r.Scan(&a.ID, &a.TenantID, &a.TimeZone, &a.Source, &a.Summary, &a.Severity, &a.Status,
		&a.EscalationPolicyID, &a.CreatedAt, &a.AcknowledgedAt, &a.AcknowledgedBy, &a.ResolvedAt,
		&a.EscalationStep, &a.EscalationLoop, &a.EscalationPass, &a.LastEscalatedAt, &a.NextEscalationAt)
	return a, err
}

// alertsQuery is the statement and arguments of alerts (the benchmark EXPLAINs it too).
func alertsQuery(tenantID, status string, limit int) (string, []any) {
	var b strings.Builder
	b.WriteString(`select ` + alertColumns + ` from alerts a left join tenants t on t.id = a.tenant_id where true`)
	var args []any
	if tenantID != "" {
		args = append(args, tenantID)
		fmt.Fprintf(&b, " and a.tenant_id = $%d", len(args))
	}
	if status != "" {
		args = append(args, status)
		fmt.Fprintf(&b, " and a.status = $%d", len(args))
	}
	if tenantID != "" {
		b.WriteString(" order by a.created_at desc, a.id desc")
	} else {
		b.WriteString(" order by a.id desc")
	}
	args = append(args, limit)
	fmt.Fprintf(&b, " limit $%d", len(args))
	return b.String(), args
}

// alerts lists the newest alerts, of one tenant and one status when given. With a tenant it
// reads alerts_tenant_created_idx newest first; without one the primary key, newest first (ids
// are given in insertion order).
func (st store) alerts(ctx context.Context, tenantID, status string, limit int) ([]alertRow, error) {
	sql, args := alertsQuery(tenantID, status, limit)
	rows, err := st.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanAlert)
	if err != nil {
		return nil, fmt.Errorf("alerts: %w", err)
	}
	return out, nil
}

// eventRow is a row of alert_events.
type eventRow struct {
	ID             int64           `json:"id"`
	At             time.Time       `json:"at"`
	Event          string          `json:"event"`
	EscalationPass int32           `json:"escalation_pass"`
	EscalationLoop *int32          `json:"escalation_loop"`
	EscalationStep *int32          `json:"escalation_step"`
	Details        json.RawMessage `json:"details"`
}

// pageRow is a row of notifications (a page) with its deliveries.
type pageRow struct {
	ID             int64         `json:"id"`
	Responder      responderRef  `json:"responder"`
	Kind           string        `json:"kind"`
	ScheduleID     *int64        `json:"schedule_id"`
	EscalationPass int32         `json:"escalation_pass"`
	EscalationLoop int32         `json:"escalation_loop"`
	EscalationStep int32         `json:"escalation_step"`
	Status         string        `json:"status"`
	Attempts       int32         `json:"attempts"`
	LastError      *string       `json:"last_error"`
	CreatedAt      time.Time     `json:"created_at"`
	SentAt         *time.Time    `json:"sent_at"`
	Deliveries     []deliveryRow `json:"deliveries"`
}

// responderRef names a responder; Name is empty when the responder no longer exists.
type responderRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// deliveryRow is a row of deliveries with its River job, while River keeps it.
type deliveryRow struct {
	ID              int64      `json:"id"`
	NotificationID  int64      `json:"-"`
	ContactMethodID int64      `json:"contact_method_id"`
	Kind            string     `json:"kind"`
	Status          string     `json:"status"`
	Attempts        int32      `json:"attempts"`
	LastError       *string    `json:"last_error"`
	ResponseCode    *int32     `json:"response_code"`
	CreatedAt       time.Time  `json:"created_at"`
	SentAt          *time.Time `json:"sent_at"`
	FinishedAt      *time.Time `json:"finished_at"`
	Job             *riverJob  `json:"job"`
}

// riverJob is a delivery's River job: its state and every failed attempt's error. River deletes
// finished jobs after a while; the delivery row stays.
type riverJob struct {
	ID          int64          `json:"id"`
	State       string         `json:"state"`
	Attempt     int32          `json:"attempt"`
	MaxAttempts int32          `json:"max_attempts"`
	Errors      []attemptError `json:"errors"`
}

// attemptError is one failed attempt, as River records it.
type attemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// timeline is everything the console knows of one alert.
type timeline struct {
	Alert  alertRow   `json:"alert"`
	Events []eventRow `json:"events"`
	Pages  []pageRow  `json:"pages"`
}

// errNotFound is wrapped by a lookup of something that does not exist.
var errNotFound = fmt.Errorf("not found")

// The timeline's statements: each reads one alert's rows through an index that starts with
// the alert (or, for deliveries, with its pages): alert_events_alert_idx, notifications_page_key,
// the deliveries' unique (notification_id, contact_method_id), and River's GIN index on args
// (river_job_args_index). PostgreSQL has no statistics for a containment test of a value
// computed per row and guesses that 1% of the queue matches, which makes a scan of the whole
// queue, or a walk of its primary key for the newest match, look cheaper than the index; the
// timeline's read-only transaction therefore disables sequential scans (timelineSettings), and
// "offset 0" keeps the newest-first order from steering the plan onto the primary key. River
// deletes finished jobs after a few days (riverJobsKept), so older deliveries skip the look-up.
const (
	timelineSettings  = `set local enable_seqscan = off`
	timelineAlertSQL  = `select ` + alertColumns + ` from alerts a left join tenants t on t.id = a.tenant_id where a.id = $1`
	timelineEventsSQL = `
select id, at, event, escalation_pass, escalation_loop, escalation_step, details
from alert_events where alert_id = $1 order by at, id`
	timelinePagesSQL = `
select n.id, n.responder_id, coalesce(r.name, ''), n.kind, n.schedule_id, n.escalation_pass, n.escalation_loop,
       n.escalation_step, n.status, n.attempts, n.last_error, n.created_at, n.sent_at
from notifications n left join responders r on r.id = n.responder_id
where n.alert_id = $1 order by n.created_at, n.id`
	timelineDeliveriesSQL = `
select d.id, d.notification_id, d.contact_method_id, d.kind, d.status, d.attempts, d.last_error, d.response_code,
       d.created_at, d.sent_at, d.finished_at, j.id, j.state, j.attempt, j.max_attempts, j.errors
from notifications n
join deliveries d on d.notification_id = n.id
left join lateral (
    select rj.id, rj.state::text as state, rj.attempt::int4 as attempt, rj.max_attempts::int4 as max_attempts,
           coalesce(array_to_json(rj.errors), '[]')::jsonb as errors
    from (select * from river_job
          where d.created_at >= $2 and args @> jsonb_build_object('delivery_id', d.id) and kind = 'delivery' offset 0) rj
    order by rj.id desc limit 1
) j on true
where n.alert_id = $1
order by d.created_at, d.id`
)

// riverJobsKept is how long River keeps a delivery's job once finished, at most: discarded
// jobs 7 days, completed and cancelled ones a day (River's defaults, which the delivery queue
// keeps); a day more for a job still retrying.
const riverJobsKept = 8 * 24 * time.Hour

// timeline reads alert id's timeline in one snapshot, at now; errNotFound when there is no such
// alert.
func (st store) timeline(ctx context.Context, id int64, now time.Time) (timeline, error) {
	var out timeline
	err := pgx.BeginTxFunc(ctx, st.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, timelineSettings); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, timelineAlertSQL, id)
		if err != nil {
			return err
		}
		alert, err := pgx.CollectExactlyOneRow(rows, scanAlert)
		if err == pgx.ErrNoRows {
			return fmt.Errorf("alert %d: %w", id, errNotFound)
		}
		if err != nil {
			return err
		}
		out.Alert = alert
		rows, err = tx.Query(ctx, timelineEventsSQL, id)
		if err != nil {
			return err
		}
		if out.Events, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) {
			var e eventRow
			return e, r.Scan(&e.ID, &e.At, &e.Event, &e.EscalationPass, &e.EscalationLoop, &e.EscalationStep, &e.Details)
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, timelinePagesSQL, id)
		if err != nil {
			return err
		}
		if out.Pages, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (pageRow, error) {
			p := pageRow{Deliveries: []deliveryRow{}}
			return p, r.Scan(&p.ID, &p.Responder.ID, &p.Responder.Name, &p.Kind, &p.ScheduleID, &p.EscalationPass,
				&p.EscalationLoop, &p.EscalationStep, &p.Status, &p.Attempts, &p.LastError, &p.CreatedAt, &p.SentAt)
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, timelineDeliveriesSQL, id, now.Add(-riverJobsKept))
		if err != nil {
			return err
		}
		deliveries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (deliveryRow, error) {
			var d deliveryRow
			var jobID *int64
			var state *string
			var attempt, maxAttempts *int32
			var errs []attemptError
			err := r.Scan(&d.ID, &d.NotificationID, &d.ContactMethodID, &d.Kind, &d.Status, &d.Attempts, &d.LastError,
				&d.ResponseCode, &d.CreatedAt, &d.SentAt, &d.FinishedAt, &jobID, &state, &attempt, &maxAttempts, &errs)
			if err == nil && jobID != nil {
				d.Job = &riverJob{ID: *jobID, State: *state, Attempt: *attempt, MaxAttempts: *maxAttempts, Errors: errs}
				if d.Job.Errors == nil {
					d.Job.Errors = []attemptError{}
				}
			}
			return d, err
		})
		if err != nil {
			return err
		}
		byPage := map[int64]int{}
		for i, p := range out.Pages {
			byPage[p.ID] = i
		}
		for _, d := range deliveries {
			if i, ok := byPage[d.NotificationID]; ok {
				out.Pages[i].Deliveries = append(out.Pages[i].Deliveries, d)
			}
		}
		return nil
	})
	if err != nil {
		return timeline{}, fmt.Errorf("alert timeline: %w", err)
	}
	redactTimeline(&out)
	return out, nil
}

// scheduleRow is a row of oncall_schedules.
type scheduleRow struct {
	ID       int64  `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
}

// schedules lists schedules by tenant and id, of one tenant when given (oncall_schedules_tenant_idx).
func (st store) schedules(ctx context.Context, tenantID string, limit int) ([]scheduleRow, error) {
	sql := `select id, tenant_id, name, time_zone from oncall_schedules order by tenant_id, id limit $1`
	args := []any{limit}
	if tenantID != "" {
		sql = `select id, tenant_id, name, time_zone from oncall_schedules where tenant_id = $2 order by id limit $1`
		args = append(args, tenantID)
	}
	rows, err := st.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scheduleRow, error) {
		var s scheduleRow
		return s, r.Scan(&s.ID, &s.TenantID, &s.Name, &s.TimeZone)
	})
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	return out, nil
}

// reportRow is a stored daily report's key and period.
type reportRow struct {
	TenantID    string    `json:"tenant_id"`
	Date        string    `json:"date"`
	PeriodStart time.Time `json:"period_start"`
	PeriodEnd   time.Time `json:"period_end"`
	TimeZone    string    `json:"time_zone"`
	GeneratedAt time.Time `json:"generated_at"`
}

// reports lists daily reports with a local date in [from, to], newest first, of one tenant when
// given (reports' unique (tenant_id, kind, period_date)).
func (st store) reports(ctx context.Context, tenantID string, from, to time.Time, limit int) ([]reportRow, error) {
	sql := `select tenant_id, period_date, period_start, period_end, time_zone, generated_at from reports
where kind = 'daily' and period_date >= $1 and period_date <= $2 order by period_date desc, tenant_id limit $3`
	args := []any{from, to, limit}
	if tenantID != "" {
		sql = `select tenant_id, period_date, period_start, period_end, time_zone, generated_at from reports
where tenant_id = $4 and kind = 'daily' and period_date >= $1 and period_date <= $2 order by period_date desc limit $3`
		args = append(args, tenantID)
	}
	rows, err := st.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reportRow, error) {
		var x reportRow
		var date time.Time
		err := r.Scan(&x.TenantID, &date, &x.PeriodStart, &x.PeriodEnd, &x.TimeZone, &x.GeneratedAt)
		x.Date = date.Format(time.DateOnly)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	return out, nil
}

// storedReport is one stored report with its body and text.
type storedReport struct {
	reportRow
	Body json.RawMessage
	Text string
}

// report reads tenant's daily report of date; errNotFound when there is none.
func (st store) report(ctx context.Context, tenantID string, date time.Time) (storedReport, error) {
	var r storedReport
	var d time.Time
	err := st.pool.QueryRow(ctx, `select tenant_id, period_date, period_start, period_end, time_zone, generated_at, body, text
from reports where tenant_id = $1 and kind = 'daily' and period_date = $2`, tenantID, date).Scan(
		&r.TenantID, &d, &r.PeriodStart, &r.PeriodEnd, &r.TimeZone, &r.GeneratedAt, &r.Body, &r.Text)
	if err == pgx.ErrNoRows {
		return storedReport{}, fmt.Errorf("report of %s for %s: %w", tenantID, date.Format(time.DateOnly), errNotFound)
	}
	if err != nil {
		return storedReport{}, fmt.Errorf("report: %w", err)
	}
	r.Date = d.Format(time.DateOnly)
	return r, nil
}

// alertsPerHourSQL counts a tenant's alerts created in [$3, $4) by bucket: $2 holds the
// buckets' starts, width_bucket numbers them from 1. It is a range scan of
// alerts_tenant_created_idx (index-only on a vacuumed table), the index the report's own
// count uses: stored reports carry no per-hour counts, so the console computes them from the
// alerts of the report's period.
const alertsPerHourSQL = `
select width_bucket(created_at, $2::timestamptz[]) as b, count(*)
from alerts
where tenant_id = $1 and created_at >= $3 and created_at < $4
group by b`

// alertsPerBucket counts tenant's alerts created in each bucket [starts[i], starts[i+1]), the
// last ending at end.
func (st store) alertsPerBucket(ctx context.Context, tenantID string, starts []time.Time, end time.Time) ([]int64, error) {
	out := make([]int64, len(starts))
	if len(starts) == 0 {
		return out, nil
	}
	rows, err := st.pool.Query(ctx, alertsPerHourSQL, tenantID, starts, starts[0], end)
	if err != nil {
		return nil, fmt.Errorf("alerts per hour: %w", err)
	}
	var b int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&b, &n}, func() error {
		if b >= 1 && b <= len(out) {
			out[b-1] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alerts per hour: %w", err)
	}
	return out, nil
}
