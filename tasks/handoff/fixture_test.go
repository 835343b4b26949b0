package handoff_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/handoff"
)

// fixture builds test data in a fresh database and reads back what runs wrote.
type fixture struct {
	t    testing.TB
	ctx  context.Context
	pool *pgxpool.Pool
	enq  *delivery.Enqueuer
}

func newFixture(t testing.TB) *fixture {
	pool := dbtest.New(t)
	svc, err := delivery.New(pool, delivery.Options{Workers: 0})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: quietContext(), pool: pool, enq: svc.Enqueuer()}
}

// quietContext carries a logger that formats every line and drops it.
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

func (f *fixture) tenant(id string) string {
	f.t.Helper()
	f.exec(`insert into tenants (id, name, time_zone) values ($1, $1, 'UTC')`, id)
	return id
}

// responder adds a responder with one enabled contact method of each kind given.
func (f *fixture) responder(tenant, name string, kinds ...string) int64 {
	f.t.Helper()
	id := f.id(`insert into responders (tenant_id, name) values ($1, $2) returning id`, tenant, name)
	for _, k := range kinds {
		f.exec(`insert into contact_methods (tenant_id, responder_id, kind, address) values ($1, $2, $3, 'https://hooks.example.com/x')`, tenant, id, k)
	}
	return id
}

func (f *fixture) schedule(tenant, name, zone string) int64 {
	f.t.Helper()
	return f.id(`insert into oncall_schedules (tenant_id, name, time_zone) values ($1, $2, $3) returning id`, tenant, name, zone)
}

// layer adds a layer handing off every length units from start, participants in turn.
func (f *fixture) layer(schedule int64, priority int, start time.Time, length int, unit string, participants ...int64) int64 {
	f.t.Helper()
	return f.id(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
	        values ($1, 'layer', $2, $3, $4, $5, $6) returning id`, schedule, priority, start, length, unit, participants)
}

func (f *fixture) subscribe(tenant string, schedule int64, kind string) int64 {
	f.t.Helper()
	return f.id(`insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) values ($1, $2, $3, 'https://hooks.example.com/team')
		returning id`, tenant, schedule, kind)
}

// task returns a handoff task with lead, queueing deliveries.
func (f *fixture) task(lead time.Duration) *handoff.Task {
	return handoff.New(f.pool, handoff.Options{Lead: lead, Deliveries: f.enq})
}

// run runs task at now and fails the test on an error.
func (f *fixture) run(task *handoff.Task, now time.Time) scheduler.Summary {
	f.t.Helper()
	s, err := task.Run(f.ctx, now)
	if err != nil {
		f.t.Fatalf("run at %s: %v", now.Format(time.RFC3339), err)
	}
	return s
}

// notice is a handoff_notices row as tests compare it.
type notice struct {
	ID           int64
	ScheduleID   int64
	ChangeAt     time.Time
	Kind         string
	Subscription int64
	Responder    int64
	Status       string
	Notice       delivery.Notice
}

// notices reads every outbox row, in (change, kind, recipient) order.
func (f *fixture) notices() []notice {
	f.t.Helper()
	rows, err := f.pool.Query(f.ctx, `select id, schedule_id, change_at, kind, coalesce(subscription_id, 0), coalesce(responder_id, 0), status, notice
		from handoff_notices order by schedule_id, change_at, kind, subscription_id, responder_id`)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []notice
	var n notice
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&n.ID, &n.ScheduleID, &n.ChangeAt, &n.Kind, &n.Subscription, &n.Responder, &n.Status, &body}, func() error {
		n.Notice = delivery.Notice{}
		if err := json.Unmarshal(body, &n.Notice); err != nil {
			return err
		}
		out = append(out, n)
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
