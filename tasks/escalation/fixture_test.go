package escalation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// t0 is a Monday, 10:00 UTC: the instant the tests' alerts are first due.
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

func minutes(n int) time.Duration { return time.Duration(n) * time.Minute }

// fixture builds test data in a fresh database and reads back what a run wrote.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	pool *pgxpool.Pool
}

func newFixture(t testing.TB) *fixture {
	return &fixture{t: t, ctx: quietContext(), pool: dbtest.New(t)}
}

// quietContext carries a logger that formats every line as production would and drops it, so
// tests and benchmarks pay for logging without flooding the output.
func quietContext() context.Context {
	return scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil)))
}

func (f *fixture) exec(sql string, args ...any) {
	f.t.Helper()
	dbtest.Exec(f.t, f.pool, sql, args...)
}

func (f *fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	return dbtest.Int64(f.t, f.pool, sql, args...)
}

func (f *fixture) count(sql string, args ...any) int {
	f.t.Helper()
	return int(f.id(sql, args...))
}

func (f *fixture) tenant(id string) string {
	f.t.Helper()
	f.exec(`insert into tenants (id, name, time_zone) values ($1, $1, 'UTC')`, id)
	return id
}

func (f *fixture) responder(tenant, name string) int64 {
	f.t.Helper()
	return f.id(`insert into responders (tenant_id, name) values ($1, $2) returning id`, tenant, name)
}

func (f *fixture) schedule(tenant, name, zone string) int64 {
	f.t.Helper()
	return f.id(`insert into oncall_schedules (tenant_id, name, time_zone) values ($1, $2, $3) returning id`, tenant, name, zone)
}

// dailyLayer adds a layer handing off every day at start's time of day, participants in turn.
func (f *fixture) dailyLayer(schedule int64, priority int, start time.Time, participants ...int64) {
	f.t.Helper()
	f.exec(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
	        values ($1, 'layer', $2, $3, 1, 'day', $4)`, schedule, priority, start, participants)
}

// override puts responder on call in schedule during [from, to), for replaces (0: everyone).
func (f *fixture) override(schedule, responder, replaces int64, from, to time.Time) {
	f.t.Helper()
	var r *int64
	if replaces != 0 {
		r = &replaces
	}
	f.exec(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
	        values ($1, $2, $3, $4, $5, $6)`, schedule, responder, r, from, to, from)
}

func (f *fixture) policy(tenant string, repeat int) int64 {
	f.t.Helper()
	return f.id(`insert into escalation_policies (tenant_id, name, repeat_count) values ($1, 'policy', $2) returning id`, tenant, repeat)
}

// tgt is a step target: a responder or a schedule.
type tgt struct{ responder, schedule int64 }

func responderT(id int64) tgt { return tgt{responder: id} }
func scheduleT(id int64) tgt  { return tgt{schedule: id} }

func (f *fixture) step(policy int64, position, delay int, targets ...tgt) {
	f.t.Helper()
	f.exec(`insert into escalation_steps (policy_id, position, delay_minutes) values ($1, $2, $3)`, policy, position, delay)
	for _, t := range targets {
		var r, s *int64
		if t.responder != 0 {
			r = &t.responder
		} else {
			s = &t.schedule
		}
		f.exec(`insert into escalation_step_targets (policy_id, position, responder_id, schedule_id) values ($1, $2, $3, $4)`,
			policy, position, r, s)
	}
}

// alert adds a triggered alert due at next, on policy (0: none).
func (f *fixture) alert(tenant string, policy int64, next time.Time) int64 {
	f.t.Helper()
	var p *int64
	if policy != 0 {
		p = &policy
	}
	return f.id(`insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
	             values ($1, 'test', 'something broke', $2, $3, $3) returning id`, tenant, p, next)
}

// notification is a notifications row, as the tests compare it.
type notification struct {
	Responder  int64
	Loop, Step int32
	Schedule   int64 // 0: paged directly
}

func (n notification) String() string {
	return fmt.Sprintf("{r%d loop %d step %d via s%d}", n.Responder, n.Loop, n.Step, n.Schedule)
}

// pages returns alert's notifications in the order written (responders of a step by id).
func (f *fixture) pages(alert int64) []notification {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `
		select responder_id, escalation_loop, escalation_step, coalesce(schedule_id, 0)
		from notifications where alert_id = $1 and kind = 'escalation' and status = 'pending'
		order by escalation_loop, escalation_step, id`, alert)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[notification])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// alertEvent is an alert_events row.
type alertEvent struct {
	Event   string
	Loop    *int32
	Step    *int32
	At      time.Time
	Details map[string]any
}

func (e alertEvent) String() string {
	s := func(p *int32) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	d, _ := json.Marshal(e.Details)
	return fmt.Sprintf("{%s loop %s step %s at %s %s}", e.Event, s(e.Loop), s(e.Step), e.At.UTC().Format(time.RFC3339), d)
}

func (f *fixture) events(alert int64) []alertEvent {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `
		select event, escalation_loop, escalation_step, at, details from alert_events where alert_id = $1 order by id`, alert)
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[alertEvent])
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// eventKinds returns the kinds of alert's events, in order.
func (f *fixture) eventKinds(alert int64) []string {
	var kinds []string
	for _, e := range f.events(alert) {
		kinds = append(kinds, e.Event)
	}
	return kinds
}

// state is an alert's escalation state.
type state struct {
	Status string
	Step   *int32
	Loop   int32
	Last   *time.Time
	Next   *time.Time
}

func (f *fixture) state(alert int64) state {
	f.t.Helper()
	var s state
	err := f.pool.QueryRow(f.ctx, `
		select status, escalation_step, escalation_loop, last_escalated_at, next_escalation_at from alerts where id = $1`, alert).
		Scan(&s.Status, &s.Step, &s.Loop, &s.Last, &s.Next)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// wantState fails unless alert is at step (nil: none), loop, next (zero: null).
func (f *fixture) wantState(alert int64, step *int32, loop int32, next time.Time) {
	f.t.Helper()
	s := f.state(alert)
	if !eqStep(s.Step, step) || s.Loop != loop || !eqTime(s.Next, next) {
		f.t.Fatalf("alert %d: step %s loop %d next %s, want step %s loop %d next %s",
			alert, fmtStep(s.Step), s.Loop, fmtTime(s.Next), fmtStep(step), loop, fmtTime(&next))
	}
}

func at(step int32) *int32 { return &step }

func eqStep(a, b *int32) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func eqTime(a *time.Time, b time.Time) bool {
	if a == nil {
		return b.IsZero()
	}
	return a.Equal(b)
}

func fmtStep(p *int32) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}

func fmtTime(p *time.Time) string {
	if p == nil || p.IsZero() {
		return "null"
	}
	return p.UTC().Format(time.RFC3339)
}

// run runs task at now and returns its summary, failing the test on an error.
func (f *fixture) run(task *escalation.Task, now time.Time) scheduler.Summary {
	f.t.Helper()
	s, err := task.Run(f.ctx, now)
	if err != nil {
		f.t.Fatalf("run at %s: %v", now.Format(time.RFC3339), err)
	}
	return s
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

// isCancel reports whether err comes from a cancelled context.
func isCancel(err error) bool { return errors.Is(err, context.Canceled) }
