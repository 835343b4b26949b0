package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/scheduler/schedulertest"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// The fixture's clock: Wednesday 2027-05-05, 12:30 in Berlin (CEST), where its tenant is.
var fixtureNow = time.Date(2027, 5, 5, 10, 30, 0, 0, time.UTC)

var berlin = mustZone("Europe/Berlin")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func local(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, berlin)
}

// Test credentials; the hash is bcrypt's cheapest, so the tests spend no time on it.
const (
	testUser     = "ops"
	testPassword = "correct horse"
)

// fixture is a database an operator would recognise, a console on it, and its clock.
//
// Tenant acme (Europe/Berlin) has Anna, Ben and Cleo, each with a webhook. Its schedule Primary
// has a daily layer (Anna, Ben; handoff 09:00) that ends on Sunday 2027-05-09 09:00, and above it
// an office-hours layer (Cleo, Mon-Fri 09:00-17:00), so the week ahead has gaps from Sunday on
// outside office hours; Anna overrides the whole schedule on Thursday 20:00-23:00, in Ben's shift. Cleo is on call
// at the fixture's now. Seven alerts were created on Tuesday 2027-05-04 (local hours 02, 09, 09,
// 14, 14, 14, 22) and escalated by real runs of the escalation task, their pages queued for
// delivery; one delivery was sent on its second attempt, one failed for good. The report task
// wrote the reports of Monday and Tuesday. Tenant globex (UTC) has an empty schedule Ops. The run
// history holds those runs and a day of escalation firings every minute.
type fixture struct {
	t      testing.TB
	ctx    context.Context
	pool   *pgxpool.Pool
	clock  atomic.Pointer[time.Time]
	srv    *Server
	users  *Users
	alerts []int64
	sched  int64
	jobs   []Job
}

func (f *fixture) now() time.Time { return *f.clock.Load() }

func (f *fixture) setNow(t time.Time) { f.clock.Store(&t) }

// schedulerClock is the real clock read at the fixture's now: the scheduler stamps runs with it.
func (f *fixture) schedulerClock() clockwork.Clock { return fixtureClock{clockwork.NewRealClock(), f} }

type fixtureClock struct {
	clockwork.Clock
	f *fixture
}

func (c fixtureClock) Now() time.Time { return c.f.now() }

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, ctx: context.Background(), pool: dbtest.New(t)}
	f.setNow(fixtureNow)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.ctx = scheduler.WithLogger(f.ctx, quiet)

	exec := func(sql string, args ...any) { t.Helper(); dbtest.Exec(t, f.pool, sql, args...) }
	id := func(sql string, args ...any) int64 { t.Helper(); return dbtest.Int64(t, f.pool, sql, args...) }

	exec(`insert into tenants (id, name, time_zone, created_at, webhook_secret) values
		('acme', 'Acme GmbH', 'Europe/Berlin', '2027-05-02T22:00:00Z', 'whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0'),
		('globex', 'Globex', 'UTC', '2027-05-04T00:00:00Z', null)`)
	anna := id(`insert into responders (tenant_id, name) values ('acme', 'Anna') returning id`)
	ben := id(`insert into responders (tenant_id, name) values ('acme', 'Ben') returning id`)
	cleo := id(`insert into responders (tenant_id, name) values ('acme', 'Cleo') returning id`)
	exec(`insert into contact_methods (tenant_id, responder_id, kind, address)
	      select 'acme', r, 'webhook', 'https://hooks.acme.example/' || r from unnest($1::bigint[]) r`, []int64{anna, ben, cleo})
	f.sched = id(`insert into oncall_schedules (tenant_id, name, time_zone) values ('acme', 'Primary', 'Europe/Berlin') returning id`)
	exec(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
	      values ($1, 'Daily', 1, $2, 1, 'day', $3, $4)`, f.sched, local(2027, 5, 1, 9, 0), []int64{anna, ben}, local(2027, 5, 9, 9, 0))
	office := id(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
	      values ($1, 'Office hours', 2, $2, 1, 'week', $3) returning id`, f.sched, local(2027, 5, 3, 9, 0), []int64{cleo})
	exec(`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
	      select $1, d, time '09:00', interval '8 hours' from generate_series(1, 5) d`, office)
	exec(`insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at, created_at) values ($1, $2, $3, $4, $5)`,
		f.sched, anna, local(2027, 5, 6, 20, 0), local(2027, 5, 6, 23, 0), fixtureNow.Add(-48*time.Hour))
	exec(`insert into oncall_schedules (tenant_id, name, time_zone) values ('globex', 'Ops', 'UTC')`)
	policy := id(`insert into escalation_policies (tenant_id, name) values ('acme', 'Primary, then Ben') returning id`)
	exec(`insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 0, 5), ($1, 1, 10)`, policy)
	exec(`insert into escalation_step_targets (policy_id, position, schedule_id) values ($1, 0, $2)`, policy, f.sched)
	exec(`insert into escalation_step_targets (policy_id, position, responder_id) values ($1, 1, $2)`, policy, ben)

	// The tasks, run by a scheduler on the fixture's clock, so their history is real.
	client, err := delivery.NewClient(f.pool, delivery.ClientOptions{MaxAttempts: 10, Timeout: 10 * time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	esc := escalation.New(f.pool, escalation.Options{Deliveries: delivery.NewEnqueuer(client, 10)})
	rep := report.New(f.pool, report.Options{CatchupDays: 7})
	sc := scheduler.New(f.pool, scheduler.Options{Instance: "fixture", Logger: quiet, Clock: f.schedulerClock()})
	run := func(job scheduler.Job, at time.Time) {
		t.Helper()
		f.setNow(at)
		if r, err := sc.RunNow(f.ctx, job, at); err != nil || r.Status != "succeeded" {
			t.Fatalf("run %s at %s: %+v, %v", job.Name(), at, r, err)
		}
	}
	schedulertest.FillHistory(t, f.pool, schedulertest.History{Job: "escalation", Until: fixtureNow.Add(-30 * time.Second),
		Every: time.Minute, Runs: 1440, Duration: 40 * time.Millisecond, Jitter: 60 * time.Millisecond, FailEvery: 181})
	for i, at := range []time.Time{
		local(2027, 5, 4, 2, 10), local(2027, 5, 4, 9, 15), local(2027, 5, 4, 9, 40), local(2027, 5, 4, 14, 5),
		local(2027, 5, 4, 14, 20), local(2027, 5, 4, 14, 50), local(2027, 5, 4, 22, 30),
	} {
		f.alerts = append(f.alerts, id(`insert into alerts (tenant_id, source, summary, severity, escalation_policy_id, created_at, next_escalation_at)
			values ('acme', $1, $2, 'critical', $3, $4, $4) returning id`, []string{"db-1", "checkout-api", "checkout-api"}[i%3],
			[]string{"disk 95% full", "p99 latency above 2s", "error rate above 5%"}[i%3], policy, at))
		run(esc, at)
	}
	// Alert 1 was acknowledged, alert 2 resolved; one delivery was sent at its second attempt,
	// one failed for good.
	exec(`update alerts set status = 'acknowledged', acknowledged_at = created_at + interval '4 minutes', acknowledged_by = 'anna',
	      next_escalation_at = null where id = $1`, f.alerts[0])
	exec(`update alerts set status = 'resolved', acknowledged_at = created_at + interval '2 minutes', resolved_at = created_at + interval '50 minutes',
	      next_escalation_at = null where id = $1`, f.alerts[1])
	exec(`update deliveries d set status = 'sent', attempts = 2, response_code = 200, sent_at = n.created_at + interval '20 s',
	      finished_at = n.created_at + interval '20 s', last_error = 'HTTP 503 Service Unavailable'
	      from notifications n where n.id = d.notification_id and n.alert_id = $1 and n.escalation_step = 0`, f.alerts[0])
	exec(`update river_job set state = 'completed', attempt = 2, finalized_at = $2, attempted_at = $2,
	      errors = array[jsonb_build_object('at', $2::timestamptz - interval '15 s', 'attempt', 1, 'error', 'HTTP 503 Service Unavailable', 'trace', '')]
	      where args @> jsonb_build_object('delivery_id', (select d.id from deliveries d join notifications n on n.id = d.notification_id
	                                                    where n.alert_id = $1 and n.escalation_step = 0))`,
		f.alerts[0], local(2027, 5, 4, 2, 10).Add(20*time.Second))
	exec(`update deliveries d set status = 'failed', attempts = 1, response_code = 410, finished_at = n.created_at + interval '1 s',
	      last_error = 'HTTP 410 Gone: the receiver refuses' from notifications n where n.id = d.notification_id and n.alert_id = $1`, f.alerts[2])
	exec(`update notifications set status = 'sent', sent_at = created_at + interval '20 s' where alert_id = $1 and escalation_step = 0`, f.alerts[0])
	// Deliveries are stamped by the database's clock when queued; the fixture's happened at its pages' time.
	exec(`update deliveries d set created_at = n.created_at from notifications n where n.id = d.notification_id`)
	exec(`update notifications set status = 'failed' where alert_id = $1`, f.alerts[2])
	run(rep, fixtureNow.Add(-10*time.Minute))
	run(esc, fixtureNow.Add(-5*time.Second))
	f.setNow(fixtureNow)

	hash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if f.users, err = ParseUsers(testUser + ":" + string(hash)); err != nil {
		t.Fatal(err)
	}
	escSpec, err := scheduler.ParseSpec("@every 1m", time.UTC, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	repSpec, err := scheduler.ParseSpec("30 2 * * *", berlin, fixtureNow)
	if err != nil {
		t.Fatal(err)
	}
	f.jobs = []Job{{Name: "escalation", Variable: "ESCALATION_SCHEDULE", Spec: &escSpec}, {Name: "report", Variable: "REPORT_SCHEDULE", Spec: &repSpec}}
	f.srv = f.server(nil)
	return f
}

// server returns a console on the fixture with river as River UI (nil: none).
func (f *fixture) server(river http.Handler) *Server {
	f.t.Helper()
	srv, err := New(Options{Pool: f.pool, Users: f.users, Jobs: f.jobs, River: river, Now: f.now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		f.t.Fatal(err)
	}
	return srv
}

// get requests path from the console, signed in.
func (f *fixture) get(path string) *httptest.ResponseRecorder {
	f.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.SetBasicAuth(testUser, testPassword)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec
}
