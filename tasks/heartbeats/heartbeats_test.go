package heartbeats_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// t0 is when the tests' monitors are created.
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t    *testing.T
	ctx  context.Context
	pool *pgxpool.Pool
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, ctx: scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(io.Discard, nil))), pool: dbtest.New(t)}
	dbtest.Exec(t, f.pool, `insert into tenants (id, name) values ('acme', 'Acme')`)
	return f
}

func (f *fixture) id(sql string, args ...any) int64 {
	f.t.Helper()
	return dbtest.Int64(f.t, f.pool, sql, args...)
}

// policy returns a policy whose one step pages a new responder (with a webhook).
func (f *fixture) policy() (policy, responder int64) {
	responder = f.id(`insert into responders (tenant_id, name) values ('acme', 'Ann') returning id`)
	policy = f.id(`insert into escalation_policies (tenant_id, name) values ('acme', 'p') returning id`)
	dbtest.Exec(f.t, f.pool, `insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 0, 5)`, policy)
	dbtest.Exec(f.t, f.pool, `insert into escalation_step_targets (policy_id, position, responder_id) values ($1, 0, $2)`, policy, responder)
	return policy, responder
}

// monitor adds an enabled monitor created at created.
func (f *fixture) monitor(name, token string, interval time.Duration, policy int64, created time.Time) int64 {
	f.t.Helper()
	return f.id(`insert into heartbeat_monitors (tenant_id, name, interval_seconds, escalation_policy_id, token, created_at)
		values ('acme', $1, $2, $3, $4, $5) returning id`, name, int(interval.Seconds()), policy, token, created)
}

func (f *fixture) run(task *heartbeats.Task, now time.Time) scheduler.Summary {
	f.t.Helper()
	s, err := task.Run(f.ctx, now)
	if err != nil {
		f.t.Fatalf("run at %s: %v", now, err)
	}
	return s
}

func (f *fixture) ping(token string, at time.Time) {
	f.t.Helper()
	ok, err := heartbeats.Ping(f.ctx, f.pool, token, at)
	if err != nil || !ok {
		f.t.Fatalf("ping: %v %v", ok, err)
	}
}

// alertOf returns the monitor's open alert (0: none).
func (f *fixture) alertOf(monitor int64) int64 {
	return f.id(`select coalesce(alert_id, 0) from heartbeat_monitors where id = $1`, monitor)
}

const token = "tok-0123456789abcdef"

// A silent monitor opens exactly one alert — also with replicas running at once — after one
// interval without a ping (counted from its creation before the first), with its policy, due at
// once and named after the monitor and its last ping; escalation then pages it. Pings returning
// resolve it with an event, and the next silence is a new outage with a new alert.
func TestOneAlertPerOutage(t *testing.T) {
	f := newFixture(t)
	policy, ann := f.policy()
	m := f.monitor("nightly backup", token, time.Hour, policy, t0)
	task := heartbeats.New(f.pool, heartbeats.Options{})

	if s := f.run(task, t0.Add(time.Hour)); s["alerts_opened"] != 0 {
		t.Fatalf("one interval after creation: %v", s)
	}
	f.ping(token, t0.Add(50*time.Minute))
	if s := f.run(task, t0.Add(time.Hour+49*time.Minute)); s["alerts_opened"] != 0 {
		t.Fatalf("59 minutes after a ping: %v", s)
	}
	now := t0.Add(time.Hour + 51*time.Minute)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, err := heartbeats.New(f.pool, heartbeats.Options{}).Run(f.ctx, now); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	f.run(task, now.Add(10*time.Minute))
	if n := f.id(`select count(*) from alerts`); n != 1 {
		t.Fatalf("%d alerts, want 1", n)
	}
	alert := f.alertOf(m)
	var source, summary, status string
	var pol int64
	var created, next time.Time
	err := f.pool.QueryRow(f.ctx, `select source, summary, status, escalation_policy_id, created_at, next_escalation_at from alerts where id = $1`, alert).
		Scan(&source, &summary, &status, &pol, &created, &next)
	if err != nil {
		t.Fatal(err)
	}
	if source != "heartbeat" || summary != `heartbeat "nightly backup" missed: last ping 2027-05-03T10:50:00Z (expected every 1h)` ||
		status != "triggered" || pol != policy || !created.Equal(now) || !next.Equal(now) {
		t.Fatalf("alert: %s %q %s %d %s %s", source, summary, status, pol, created, next)
	}
	esc := escalation.New(f.pool, escalation.Options{})
	if _, err := esc.Run(f.ctx, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := f.id(`select count(*) from notifications where alert_id = $1 and responder_id = $2`, alert, ann); n != 1 {
		t.Fatalf("escalation paged %d times", n)
	}

	back := now.Add(20 * time.Minute)
	f.ping(token, back)
	if s := f.run(task, back.Add(time.Minute)); s["alerts_resolved"] != 1 || s["alerts_opened"] != 0 {
		t.Fatalf("pings returned: %v", s)
	}
	var resolvedAt time.Time
	if err := f.pool.QueryRow(f.ctx, `select resolved_at from alerts where id = $1 and status = 'resolved'`, alert).Scan(&resolvedAt); err != nil || !resolvedAt.Equal(back.Add(time.Minute)) {
		t.Fatalf("alert not resolved at the run: %v %v", resolvedAt, err)
	}
	if n := f.id(`select count(*) from alert_events where alert_id = $1 and event = 'resolved' and details = '{"via":"heartbeat"}'`, alert); n != 1 {
		t.Errorf("%d resolved events", n)
	}
	if f.alertOf(m) != 0 {
		t.Error("the monitor still holds its alert")
	}
	if s := f.run(task, back.Add(2*time.Minute)); s["alerts_resolved"] != 0 || s["alerts_opened"] != 0 {
		t.Fatalf("rerun: %v", s)
	}
	// Silent again: a new outage.
	if s := f.run(task, back.Add(time.Hour+time.Second)); s["alerts_opened"] != 1 {
		t.Fatalf("second outage: %v", s)
	}
	if second := f.alertOf(m); second == 0 || second == alert {
		t.Fatalf("second outage's alert %d", second)
	}
}

// A monitor never pinged is silent one interval after its creation; a disabled one never
// alerts (its pings are still recorded); a monitor without a policy still opens its alert.
func TestNewAndDisabledMonitors(t *testing.T) {
	f := newFixture(t)
	fresh := f.monitor("fresh", "fresh-0123456789abcdef", time.Minute, 0, t0)
	off := f.monitor("off", "off-0123456789abcdef", time.Minute, 0, t0)
	dbtest.Exec(t, f.pool, `update heartbeat_monitors set enabled = false, escalation_policy_id = null`)
	dbtest.Exec(t, f.pool, `update heartbeat_monitors set enabled = true where id = $1`, fresh)
	task := heartbeats.New(f.pool, heartbeats.Options{})
	if s := f.run(task, t0.Add(59*time.Second)); s["alerts_opened"] != 0 {
		t.Fatalf("within the first interval: %v", s)
	}
	if s := f.run(task, t0.Add(61*time.Second)); s["alerts_opened"] != 1 || f.alertOf(fresh) == 0 {
		t.Fatalf("after it: %v", s)
	}
	if got := f.id(`select count(*) from alerts where summary = $1 and escalation_policy_id is null`,
		`heartbeat "fresh" missed: never pinged since it was created at 2027-05-03T10:00:00Z (expected every 1m)`); got != 1 {
		t.Errorf("%d alerts with the never-pinged summary", got)
	}
	f.ping("off-0123456789abcdef", t0)
	if s := f.run(task, t0.Add(24*time.Hour)); s["alerts_opened"] != 0 || f.alertOf(off) != 0 {
		t.Fatalf("a disabled monitor alerted: %v", s)
	}
}

// An alert someone resolved while the monitor is still silent is not reopened: the outage goes
// on. When pings return the monitor lets go of it (no event), and a later silence opens a new one.
func TestAlertResolvedByPeople(t *testing.T) {
	f := newFixture(t)
	m := f.monitor("m", token, time.Minute, 0, t0)
	task := heartbeats.New(f.pool, heartbeats.Options{})
	f.run(task, t0.Add(2*time.Minute))
	alert := f.alertOf(m)
	dbtest.Exec(t, f.pool, `update alerts set status = 'resolved', resolved_at = $2 where id = $1`, alert, t0.Add(3*time.Minute))
	if s := f.run(task, t0.Add(10*time.Minute)); s["alerts_opened"] != 0 {
		t.Fatalf("reopened: %v", s)
	}
	f.ping(token, t0.Add(11*time.Minute))
	if s := f.run(task, t0.Add(11*time.Minute+time.Second)); s["released"] != 1 || s["alerts_resolved"] != 0 {
		t.Fatalf("pings returned: %v", s)
	}
	if n := f.id(`select count(*) from alert_events where alert_id = $1`, alert); n != 0 {
		t.Errorf("%d events on an alert people resolved", n)
	}
	if s := f.run(task, t0.Add(13*time.Minute)); s["alerts_opened"] != 1 {
		t.Fatalf("new silence: %v", s)
	}
}

// Opening an alert wakes escalation at once: the escalation channel hears of it at commit.
func TestOpenedAlertWakesEscalation(t *testing.T) {
	f := newFixture(t)
	now := time.Now().Add(-time.Second)
	f.monitor("m", token, time.Minute, 0, now.Add(-2*time.Minute))
	conn, err := pgx.Connect(f.ctx, f.pool.Config().ConnConfig.ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(f.ctx, "listen opsworker_escalation"); err != nil {
		t.Fatal(err)
	}
	f.run(heartbeats.New(f.pool, heartbeats.Options{}), now)
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(ctx)
	if err != nil || n.Payload != "acme" {
		t.Fatalf("no wake-up: %v %v", n, err)
	}
}

// List shows each monitor's state and open alert, never its token.
func TestList(t *testing.T) {
	f := newFixture(t)
	up := f.monitor("up", "up-0123456789abcdef", time.Hour, 0, t0)
	f.monitor("new", "new-0123456789abcdef", time.Hour, 0, t0.Add(30*time.Minute))
	down := f.monitor("down", "down-0123456789abcdef", time.Minute, 0, t0)
	f.monitor("off", "off-0123456789abcdef", time.Minute, 0, t0)
	dbtest.Exec(t, f.pool, `update heartbeat_monitors set enabled = false where name = 'off'`)
	f.ping("up-0123456789abcdef", t0.Add(40*time.Minute))
	now := t0.Add(time.Hour)
	f.run(heartbeats.New(f.pool, heartbeats.Options{}), now)
	ms, err := heartbeats.List(f.ctx, f.pool, "", now)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		s := m.Name + ":" + string(m.State)
		if m.Alert != nil {
			s += ":alert " + m.Alert.Status
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != "down:down:alert triggered new:new off:disabled up:up" {
		t.Fatalf("list: %v", got)
	}
	if ms[3].ID != up || ms[3].LastPingAt == nil || !ms[3].LastPingAt.Equal(t0.Add(40*time.Minute)) || ms[0].ID != down {
		t.Errorf("list: %+v", ms)
	}
	if other, _ := heartbeats.List(f.ctx, f.pool, "other", now); len(other) != 0 {
		t.Errorf("another tenant's list: %v", other)
	}
}
