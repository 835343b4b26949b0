package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// wakeFixture is a database with a tenant whose one-step policy pages a responder.
type wakeFixture struct {
	t      testing.TB
	url    string
	pool   *pgxpool.Pool
	policy int64
}

func newWakeFixture(t *testing.T) *wakeFixture {
	url := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	seedAlerts(t, pool, 0)
	return &wakeFixture{t: t, url: url, pool: pool, policy: dbtest.Int64(t, pool, `select id from escalation_policies`)}
}

// alerts inserts n due alerts, each in its own transaction, as an API would.
func (w *wakeFixture) alerts(n int) {
	for range n {
		dbtest.Exec(w.t, w.pool, `insert into alerts (tenant_id, source, summary, escalation_policy_id) values ('acme', 'api', 'x', $1)`, w.policy)
	}
}

func (w *wakeFixture) count(sql string, args ...any) int64 {
	return dbtest.Int64(w.t, w.pool, sql, args...)
}

// triggerOf returns the trigger of run id.
func (w *wakeFixture) triggerOf(id any) string {
	var trigger string
	if err := w.pool.QueryRow(context.Background(), `select trigger from job_runs where id = $1`, int64(id.(float64))).Scan(&trigger); err != nil {
		w.t.Fatal(err)
	}
	return trigger
}

// pageWatcher hears every committed page: a trigger on notifications notifies test_pages with
// the alert's id and the commit's time, on a connection of the test's own.
type pageWatcher struct{ conn *pgx.Conn }

func (w *wakeFixture) watchPages() *pageWatcher {
	dbtest.Exec(w.t, w.pool, `create function test_page() returns trigger language plpgsql as $$
		begin perform pg_notify('test_pages', new.alert_id::text); return null; end $$`)
	dbtest.Exec(w.t, w.pool, `create trigger test_page after insert on notifications for each row execute function test_page()`)
	conn, err := pgx.Connect(context.Background(), w.url)
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(context.Background(), "listen test_pages"); err != nil {
		w.t.Fatal(err)
	}
	return &pageWatcher{conn}
}

// wait returns the alert id of the next committed page, and when it was heard.
func (p *pageWatcher) wait(t testing.TB, timeout time.Duration) (string, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	n, err := p.conn.WaitForNotification(ctx)
	if err != nil {
		t.Fatalf("no page within %v: %v", timeout, err)
	}
	return n.Payload, time.Now()
}

// awayFromTheMinute waits until the wall clock is at least 10 s from the next minute, so a test
// of wake-ups with `@every 1m` cannot be answered by the cron firing instead.
func awayFromTheMinute() {
	if s := time.Now().Second(); s >= 45 {
		time.Sleep(time.Duration(62-s) * time.Second)
	}
}

// With the default `@every 1m`, an alert inserted into a running serve is paged at once by a
// run triggered by its notification, not by the next cron firing; a burst of 200 alerts causes
// a handful of runs, not 200.
func TestAlertIsPagedAtOnce(t *testing.T) {
	w := newWakeFixture(t)
	p := startServe(t, "DATABASE_URL="+w.url)
	p.logs.waitFor(t, "notification listener up", nil)
	awayFromTheMinute()
	t0 := time.Now()
	w.alerts(1)
	line := p.logs.waitFor(t, "alert escalated", nil)
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("paged %v after the insert", took)
	}
	if trigger := w.triggerOf(line["run_id"]); trigger != "notify" {
		t.Fatalf("paged by a %s run, want notify", trigger)
	}

	before := w.count(`select count(*) from job_runs where trigger = 'notify'`)
	awayFromTheMinute()
	w.alerts(200)
	deadline := time.Now().Add(30 * time.Second)
	for w.count(`select count(*) from notifications`) < 201 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 201 alerts paged in 30 s", w.count(`select count(*) from notifications`))
		}
		p.logs.waitFor(t, "run finished", nil)
	}
	runs := w.count(`select count(*) from job_runs where trigger = 'notify'`) - before
	if runs > 20 {
		t.Errorf("200 alerts caused %d runs", runs)
	}
	if n := w.count(`select count(*) from job_runs where trigger = 'schedule' and summary->>'pages' <> '0'`); n != 0 {
		t.Errorf("%d cron runs paged: the wake-ups missed alerts", n)
	}
	t.Logf("first page %v after its insert; 200 alerts in a burst: %d runs", time.Since(t0).Round(time.Millisecond), runs)
	p.stop(t)
}

// The listener's backend terminated: it reconnects, runs once to catch up, and wakes up on the
// next alert again.
func TestListenerReconnects(t *testing.T) {
	w := newWakeFixture(t)
	p := startServe(t, "DATABASE_URL="+w.url)
	p.logs.waitFor(t, "notification listener up", nil)
	n := w.count(`select count(pg_terminate_backend(pid)) from pg_stat_activity
		where datname = current_database() and query ilike 'listen "opsworker_%' and pid <> pg_backend_pid()`)
	if n != 1 {
		t.Fatalf("terminated %d listener backends, want 1", n)
	}
	p.logs.waitFor(t, "notification listener reconnected: one catch-up run", nil)
	p.logs.waitFor(t, "run started", func(m map[string]any) bool { return m["trigger"] == "notify" })
	awayFromTheMinute()
	w.alerts(1)
	line := p.logs.waitFor(t, "alert escalated", nil)
	if trigger := w.triggerOf(line["run_id"]); trigger != "notify" {
		t.Fatalf("paged by a %s run after the reconnection, want notify", trigger)
	}
	p.stop(t)
}

// Two serve processes both hear a notification: one run pages the alert, once.
func TestTwoProcessesOneWakeUp(t *testing.T) {
	w := newWakeFixture(t)
	a, b := startServe(t, "DATABASE_URL="+w.url), startServe(t, "DATABASE_URL="+w.url)
	a.logs.waitFor(t, "notification listener up", nil)
	b.logs.waitFor(t, "notification listener up", nil)
	pages := w.watchPages()
	awayFromTheMinute()
	w.alerts(1)
	pages.wait(t, 10*time.Second)
	a.stop(t)
	b.stop(t)
	if n := w.count(`select count(*) from notifications`); n != 1 {
		t.Fatalf("%d pages, want 1", n)
	}
	if n := w.count(`select count(*) from job_runs where trigger = 'notify' and summary->>'pages' = '1'`); n != 1 {
		t.Fatalf("%d runs paged it, want 1", n)
	}
}

// ESCALATION_ON_NOTIFY=false: escalation runs on its cron spec only (the listener may still
// serve other tasks' channels).
func TestOnNotifyOff(t *testing.T) {
	w := newWakeFixture(t)
	p := startServe(t, "DATABASE_URL="+w.url, "ESCALATION_ON_NOTIFY=false", "ESCALATION_SCHEDULE=@every 2s")
	p.logs.waitFor(t, "opsworker started", nil)
	w.alerts(1)
	line := p.logs.waitFor(t, "alert escalated", nil)
	if trigger := w.triggerOf(line["run_id"]); trigger != "schedule" {
		t.Fatalf("paged by a %s run, want schedule", trigger)
	}
	p.stop(t)
	if n := w.count(`select count(*) from job_runs where job = 'escalation' and trigger = 'notify'`); n != 0 {
		t.Fatalf("%d escalation notify runs with ESCALATION_ON_NOTIFY=false", n)
	}
}
