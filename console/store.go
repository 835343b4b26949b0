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

// tenantByID reads tenant id; errNotFound when there is none.
func (st store) tenantByID(ctx context.Context, id string) (tenant, error) {
	t := tenant{ID: id}
	err := st.pool.QueryRow(ctx, `select name, time_zone from tenants where id = $1`, id).Scan(&t.Name, &t.TimeZone)
	if err == pgx.ErrNoRows {
		return t, fmt.Errorf("tenant %q: %w", id, errNotFound)
	}
	if err != nil {
		return t, fmt.Errorf("tenant: %w", err)
	}
	return t, nil
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
	// Names are the names of the responders, schedules and policies its events and pages
	// name by id; Policy is the alert's policy (nil: none, or gone). The page says them.
	Names  names       `json:"-"`
	Policy *policyView `json:"-"`
}

// names are the names of rows the timeline refers to by id; a row that is gone has none.
type names struct {
	Responders map[int64]string
	Policies   map[int64]string
	Schedules  map[int64]scheduleName
}

// scheduleName is a schedule's name and tenant (for a link to it on the On-call page).
type scheduleName struct {
	Name, TenantID string
}

// policyView is an escalation policy with its steps, as the alert's page shows it.
type policyView struct {
	ID                int64
	Name              string
	RepeatCount       int32
	AckTimeoutMinutes *int32
	Steps             []stepView
}

// stepView is one step of a policy: its position, delay and targets.
type stepView struct {
	Position     int32
	DelayMinutes int32
	Targets      []targetView
}

// targetView is a step's target: a responder or a schedule, by id, and its name ("" when gone).
type targetView struct {
	ResponderID, ScheduleID int64
	Name                    string
}

// errNotFound is wrapped by a lookup of something that does not exist.
var errNotFound = fmt.Errorf("not found")

// The timeline's statements: each reads one alert's rows through an index that starts with
// the alert (or, for deliveries, with its pages): alert_events_alert_idx, notifications_page_key,
// the deliveries' unique (notification_id, contact_method_id), and River's GIN index on args
// (river_job_args_index); then the names its rows refer to, and its policy, by primary key.
// PostgreSQL has no statistics for a containment test of a value
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
	// The names of what the events refer to, by primary key.
	timelineRespondersSQL = `select id, name, tenant_id from responders where id = any($1)`
	timelinePoliciesSQL   = `select id, name, tenant_id from escalation_policies where id = any($1)`
	timelineSchedulesSQL  = `select id, name, tenant_id from oncall_schedules where id = any($1)`
	// The alert's policy with its steps and their targets, in order (the steps' primary key and
	// escalation_step_targets_step_idx).
	timelinePolicySQL = `
select p.name, p.repeat_count, p.ack_timeout_minutes, s.position, s.delay_minutes,
       t.responder_id, t.schedule_id, coalesce(r.name, sc.name, '')
from escalation_policies p
left join escalation_steps s on s.policy_id = p.id
left join escalation_step_targets t on t.policy_id = s.policy_id and t.position = s.position
left join responders r on r.id = t.responder_id
left join oncall_schedules sc on sc.id = t.schedule_id
where p.id = $1
order by s.position, t.id`
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
		if out.Names, err = readNames(ctx, tx, referredIDs(out)); err != nil {
			return err
		}
		if out.Alert.EscalationPolicyID != nil {
			if out.Policy, err = readPolicy(ctx, tx, *out.Alert.EscalationPolicyID); err != nil {
				return err
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

// readNames reads the names of ids' responders, policies and schedules: three statements, one
// shape (id, name, tenant).
func readNames(ctx context.Context, tx pgx.Tx, ids refs) (names, error) {
	out := names{Responders: map[int64]string{}, Policies: map[int64]string{}, Schedules: map[int64]scheduleName{}}
	for _, q := range []struct {
		sql  string
		ids  []int64
		keep func(id int64, name, tenantID string)
	}{
		{timelineRespondersSQL, ids.responders, func(id int64, name, _ string) { out.Responders[id] = name }},
		{timelinePoliciesSQL, ids.policies, func(id int64, name, _ string) { out.Policies[id] = name }},
		{timelineSchedulesSQL, ids.schedules, func(id int64, name, tenantID string) { out.Schedules[id] = scheduleName{name, tenantID} }},
	} {
		if len(q.ids) == 0 {
			continue
		}
		rows, err := tx.Query(ctx, q.sql, q.ids)
		if err != nil {
			return out, err
		}
		var id int64
		var name, tenantID string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name, &tenantID}, func() error { q.keep(id, name, tenantID); return nil }); err != nil {
			return out, err
		}
	}
	return out, nil
}

// readPolicy reads policy id with its steps; nil when it is gone.
func readPolicy(ctx context.Context, tx pgx.Tx, id int64) (*policyView, error) {
	rows, err := tx.Query(ctx, timelinePolicySQL, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var p *policyView
	for rows.Next() {
		var name string
		var repeat int32
		var ackTimeout, position, delay *int32
		var responderID, scheduleID *int64
		var target string
		if err := rows.Scan(&name, &repeat, &ackTimeout, &position, &delay, &responderID, &scheduleID, &target); err != nil {
			return nil, err
		}
		if p == nil {
			p = &policyView{ID: id, Name: name, RepeatCount: repeat, AckTimeoutMinutes: ackTimeout}
		}
		if position == nil {
			continue // a policy without steps
		}
		if n := len(p.Steps); n == 0 || p.Steps[n-1].Position != *position {
			p.Steps = append(p.Steps, stepView{Position: *position, DelayMinutes: *delay})
		}
		step := &p.Steps[len(p.Steps)-1]
		switch {
		case responderID != nil:
			step.Targets = append(step.Targets, targetView{ResponderID: *responderID, Name: target})
		case scheduleID != nil:
			step.Targets = append(step.Targets, targetView{ScheduleID: *scheduleID, Name: target})
		}
	}
	return p, rows.Err()
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

// reportNumbers are a report's key numbers, read from its body: alerts triggered, mean times
// to acknowledge and resolve (null without any), pages, and pages that reached nobody (null in
// reports written before the body counted them).
type reportNumbers struct {
	Alerts       int64    `json:"alerts"`
	Acknowledged int64    `json:"acknowledged"` // the alerts the mean time to acknowledge is over
	MTTASeconds  *float64 `json:"mtta_seconds"`
	Resolved     int64    `json:"resolved"` // the alerts the mean time to resolve is over
	MTTRSeconds  *float64 `json:"mttr_seconds"`
	Pages        int64    `json:"pages"`
	Unreached    *int64   `json:"unreached"`
}

// add adds o's numbers to n: counts add up, means are weighted by the alerts they are over.
func (n *reportNumbers) add(o reportNumbers) {
	mean := func(m *float64, count int64, om *float64, ocount int64) *float64 {
		switch {
		case om == nil || ocount == 0:
			return m
		case m == nil || count == 0:
			v := *om
			return &v
		}
		v := (*m*float64(count) + *om*float64(ocount)) / float64(count+ocount)
		return &v
	}
	n.MTTASeconds = mean(n.MTTASeconds, n.Acknowledged, o.MTTASeconds, o.Acknowledged)
	n.MTTRSeconds = mean(n.MTTRSeconds, n.Resolved, o.MTTRSeconds, o.Resolved)
	n.Alerts, n.Acknowledged, n.Resolved, n.Pages = n.Alerts+o.Alerts, n.Acknowledged+o.Acknowledged, n.Resolved+o.Resolved, n.Pages+o.Pages
	if o.Unreached != nil {
		v := *o.Unreached
		if n.Unreached != nil {
			v += *n.Unreached
		}
		n.Unreached = &v
	}
}

// reportListRow is a report in a listing: its key, period and key numbers.
type reportListRow struct {
	reportRow
	reportNumbers
}

// reportsColumns are a listing's columns: the key numbers come out of the body in the same read.
const reportsColumns = `tenant_id, period_date, period_start, period_end, time_zone, generated_at,
       coalesce((body->'alerts'->>'triggered')::bigint, 0), coalesce((body->'time_to_acknowledge'->>'count')::bigint, 0),
       (body->'time_to_acknowledge'->>'mean_seconds')::float8, coalesce((body->'time_to_resolve'->>'count')::bigint, 0),
       (body->'time_to_resolve'->>'mean_seconds')::float8,
       coalesce((body->'pages'->>'total')::bigint, 0), (body->'pages'->>'unreached_total')::bigint`

// The listings of reports: dates [$1, $2], at most $3, of tenant $4 (reports' unique (tenant_id,
// kind, period_date)) or of every tenant.
const (
	reportsSQL = `select ` + reportsColumns + ` from reports
where kind = 'daily' and period_date >= $1 and period_date <= $2 order by period_date desc, tenant_id limit $3`
	tenantReportsSQL = `select ` + reportsColumns + ` from reports
where tenant_id = $4 and kind = 'daily' and period_date >= $1 and period_date <= $2 order by period_date desc limit $3`
)

// reports lists daily reports with a local date in [from, to], newest first, of one tenant when
// given.
func (st store) reports(ctx context.Context, tenantID string, from, to time.Time, limit int) ([]reportListRow, error) {
	sql, args := reportsSQL, []any{from, to, limit}
	if tenantID != "" {
		sql, args = tenantReportsSQL, append(args, tenantID)
	}
	rows, err := st.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (reportListRow, error) {
		var x reportListRow
		var date time.Time
		err := r.Scan(&x.TenantID, &date, &x.PeriodStart, &x.PeriodEnd, &x.TimeZone, &x.GeneratedAt,
			&x.Alerts, &x.Acknowledged, &x.MTTASeconds, &x.Resolved, &x.MTTRSeconds, &x.Pages, &x.Unreached)
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
