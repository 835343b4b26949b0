package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/report"
)

// fixture builds test data in a fresh database and reads back the reports a run wrote.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	pool *pgxpool.Pool
	step int // makes each page's (alert, loop, step, responder) unique
}

func newFixture(t testing.TB) *fixture {
	return &fixture{t: t, ctx: quietContext(), pool: dbtest.New(t)}
}

// quietContext carries a logger that formats every line as production would and drops it.
func quietContext() context.Context {
	return scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

// syncBuffer is a log sink safe for the concurrent writes of a run.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ts parses an RFC 3339 literal.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	dbtest.Exec(f.t, f.pool, sql, args...)
}

func (f *fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	return dbtest.Int64(f.t, f.pool, sql, args...)
}

func (f *fixture) tenant(id, zone string) {
	f.t.Helper()
	f.exec(`insert into tenants (id, name, time_zone) values ($1, $2, $3)`, id, "Tenant "+id, zone)
}

func (f *fixture) responder(tenant, name string) int64 {
	f.t.Helper()
	return f.id(`insert into responders (tenant_id, name) values ($1, $2) returning id`, tenant, name)
}

// alert adds an alert created at created (RFC 3339), acknowledged and resolved at the given
// instants ("" for never); its status follows from them.
func (f *fixture) alert(tenant, source, created, acked, resolved string) int64 {
	f.t.Helper()
	opt := func(s string) *time.Time {
		if s == "" {
			return nil
		}
		v := ts(f.t, s)
		return &v
	}
	status := "triggered"
	switch {
	case resolved != "":
		status = "resolved"
	case acked != "":
		status = "acknowledged"
	}
	return f.id(`insert into alerts (tenant_id, source, summary, status, created_at, acknowledged_at, resolved_at, next_escalation_at)
	             values ($1, $2, 'something broke', $3, $4, $5, $6, null) returning id`,
		tenant, source, status, ts(f.t, created), opt(acked), opt(resolved))
}

// event records an alert_events row; step < 0 leaves escalation_step null.
func (f *fixture) event(tenant string, alert int64, at, event string, step int) {
	f.t.Helper()
	var s *int
	if step >= 0 {
		s = &step
	}
	f.exec(`insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step)
	        values ($1, $2, $3, $4, 0, $5)`, tenant, alert, ts(f.t, at), event, s)
}

// page records a notification of alert to responder created at at.
func (f *fixture) page(tenant string, alert, responder int64, at string) {
	f.t.Helper()
	f.step++
	f.exec(`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at)
	        values ($1, $2, $3, 'escalation', 0, $4, 'sent', $5)`, tenant, alert, responder, f.step, ts(f.t, at))
}

func (f *fixture) schedule(tenant, name, zone string) int64 {
	f.t.Helper()
	return f.id(`insert into oncall_schedules (tenant_id, name, time_zone) values ($1, $2, $3) returning id`, tenant, name, zone)
}

// layer adds a layer handing off at start and every length units; ends "" never ends.
func (f *fixture) layer(schedule int64, priority int, start string, length int, unit, ends string, participants ...int64) int64 {
	f.t.Helper()
	var e *time.Time
	if ends != "" {
		v := ts(f.t, ends)
		e = &v
	}
	return f.id(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
	             values ($1, 'layer', $2, $3, $4, $5, $6, $7) returning id`,
		schedule, priority, ts(f.t, start), length, unit, participants, e)
}

// override adds an override of schedule by responder during [start, end), standing in for
// replaces (0: taking the whole schedule).
func (f *fixture) override(schedule, responder, replaces int64, start, end string) {
	f.t.Helper()
	var r *int64
	if replaces != 0 {
		r = &replaces
	}
	f.exec(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at)
	        values ($1, $2, $3, $4, $5)`, schedule, responder, r, ts(f.t, start), ts(f.t, end))
}

// jobRun records a job_runs row of job, fired at scheduled ("" for a manual run) and started at
// started; a status other than running also gets finished_at.
func (f *fixture) jobRun(job, scheduled, started, status string) int64 {
	f.t.Helper()
	var sched, finished *time.Time
	if scheduled != "" {
		sched = ptr(ts(f.t, scheduled))
	}
	if status != "running" {
		finished = ptr(ts(f.t, started).Add(time.Second))
	}
	return f.id(`insert into job_runs (job, scheduled_at, started_at, finished_at, status, instance)
	             values ($1, $2, $3, $4, $5, 'test') returning id`, job, sched, ts(f.t, started), finished, status)
}

// run runs task at now and returns its summary, failing the test on an error.
func (f *fixture) run(task *report.Task, now string) scheduler.Summary {
	f.t.Helper()
	s, err := task.Run(f.ctx, ts(f.t, now))
	if err != nil {
		f.t.Fatalf("run at %s: %v", now, err)
	}
	return s
}

// stored is a reports row.
type stored struct {
	PeriodStart, PeriodEnd, GeneratedAt time.Time
	TimeZone                            string
	Body                                report.Body
	Raw                                 string // body as stored
	Text                                string
}

// report reads the daily report of tenant starting at start, failing the test if there is none.
func (f *fixture) report(tenant, start string) stored {
	f.t.Helper()
	var s stored
	err := f.pool.QueryRow(f.ctx, `
		select period_start, period_end, generated_at, time_zone, body::text, text
		from reports where tenant_id = $1 and kind = 'daily' and period_start = $2`, tenant, ts(f.t, start)).
		Scan(&s.PeriodStart, &s.PeriodEnd, &s.GeneratedAt, &s.TimeZone, &s.Raw, &s.Text)
	if err != nil {
		f.t.Fatalf("report of %s starting %s: %v", tenant, start, err)
	}
	if err := json.Unmarshal([]byte(s.Raw), &s.Body); err != nil {
		f.t.Fatalf("report of %s starting %s: body: %v", tenant, start, err)
	}
	return s
}

// periods lists the period starts (UTC, RFC 3339) of tenant's reports, oldest first.
func (f *fixture) periods(tenant string) []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `select period_start from reports where tenant_id = $1 order by period_start`, tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]string, len(times))
	for i, v := range times {
		out[i] = v.UTC().Format(time.RFC3339)
	}
	return out
}

// dates lists tenant's reports as "date zone period_start" (period_start in UTC), by date.
func (f *fixture) dates(tenant string) []string {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `
		select period_date::text || ' ' || time_zone || ' ' || to_char(period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
		from reports where tenant_id = $1 and kind = 'daily' order by period_date`, tenant)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// wantSummary fails unless every key of want has that value in got.
func wantSummary(t testing.TB, got scheduler.Summary, want map[string]int) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("summary %v: %s = %v, want %d", got, k, got[k], v)
		}
	}
}

// jsonOf renders v as indented JSON, for readable comparisons.
func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func ptr[T any](v T) *T { return &v }
