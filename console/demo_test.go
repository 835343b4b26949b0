package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/schema"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// TestDemoInChromium: the console on `opsworker demo`'s data, as `CONSOLE_USERS=… opsworker
// serve` shows it after the worker's first runs (escalation, and report, which writes the
// week's reports), in chromium, every page kept as a screenshot (demo-*.png): each has something
// to show at once. The demo's times are relative to its load, so the clock is the test's start.
func TestDemoInChromium(t *testing.T) {
	path := chromium(t)
	ctx := scheduler.WithLogger(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	f := &fixture{t: t, ctx: ctx, pool: dbtest.New(t)}
	f.setNow(time.Now().Truncate(time.Second))
	if err := schema.LoadDemo(ctx, f.pool, "http://127.0.0.1:9/"); err != nil {
		t.Fatal(err)
	}
	client, err := delivery.NewClient(f.pool, delivery.ClientOptions{MaxAttempts: 10, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sc := scheduler.New(f.pool, scheduler.Options{Instance: "demo", Clock: f.schedulerClock(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	esc := escalation.New(f.pool, escalation.Options{Deliveries: delivery.NewEnqueuer(client, 10)})
	for _, job := range []scheduler.Job{esc, report.New(f.pool, report.Options{})} {
		if r, err := sc.RunNow(ctx, job, f.now().Add(time.Second)); err != nil || r.Status != "succeeded" {
			t.Fatalf("%s: %+v %v", job.Name(), r, err)
		}
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if f.users, err = ParseUsers(testUser + ":" + string(hash)); err != nil {
		t.Fatal(err)
	}
	for _, j := range []struct{ name, variable, spec string }{{"escalation", "ESCALATION_SCHEDULE", "@every 1m"}, {"report", "REPORT_SCHEDULE", "@daily"}} {
		spec, err := scheduler.ParseSpec(j.spec, time.UTC, f.now())
		if err != nil {
			t.Fatal(err)
		}
		f.jobs = append(f.jobs, Job{Name: j.name, Variable: j.variable, Spec: &spec})
	}
	f.srv = f.server(nil)
	b := newBrowser(t, path, f)
	text := func() string { return eval[string](t, b.tab, `document.body.innerText`) }
	count := func(sel string) int { return eval[int](t, b.tab, `document.querySelectorAll('`+sel+`').length`) }

	b.visit("demo-01-jobs", "/ui/jobs")
	if s := text(); !strings.Contains(s, "@every 1m") || !strings.Contains(s, "1 page for 1 alert, 1 delivery queued") ||
		!strings.Contains(s, "7 reports written (6 of them for earlier days)") || !strings.Contains(s, "times in Europe/Berlin") {
		t.Errorf("jobs page: the runs that paged and reported are not shown:\n%s", s)
	}
	b.visit("demo-02-oncall", "/ui/oncall")
	if who := eval[string](t, b.tab, `document.querySelector('.now-on-call .who').innerText`); who != "Carol" {
		t.Errorf("on call now: %q, want Carol (the demo's override)", who)
	}
	lanes := eval[[]string](t, b.tab, `[...document.querySelectorAll('svg.timeline g.lane')].map(g => [...g.querySelectorAll('text.lane-label')].map(x => x.textContent).join(' '))`)
	if strings.Join(lanes, "|") != "Layer 2: Primary (office hours)|Layer 1: Secondary (daily)|Overrides|On call" {
		t.Errorf("lanes %q: want the two layers' whole names, the overrides and the result", lanes)
	}
	b.visit("demo-03-alerts", "/ui/alerts")
	if s := text(); !strings.Contains(s, "db-1: disk 95% full") || count("table.alerts tbody tr") != 25 || count("table.alerts tbody tr.resolved") != 24 {
		t.Errorf("alerts page: want the new alert and the week's 24, resolved:\n%s", s)
	}
	id := dbtest.Int64(t, f.pool, `select max(id) from alerts`)
	b.visit("demo-04-alert", fmt.Sprintf("/ui/alerts/%d", id))
	if s := text(); !strings.Contains(s, "Paged Carol (on call for Demo on-call) — step 1 of Demo: on call, then Bob; next escalation in 1 minute") ||
		!regexp.MustCompile(`Page #\d+ to Carol`).MatchString(s) || !strings.Contains(s, "webhook") {
		t.Errorf("the alert's page:\n%s", s)
	}
	// The week: a report for each of the seven days before today, each with its numbers, and a
	// trend with a bar for each.
	b.visit("demo-05-reports", "/ui/reports?tenant=demo")
	if n := count("table.reports tbody tr"); n != 7 {
		t.Errorf("%d reports, want the week's 7", n)
	}
	alerts := eval[[]string](t, b.tab, `[...document.querySelectorAll('table.reports tbody tr')].map(tr => tr.cells[2].innerText + ' ' + tr.cells[3].innerText)`)
	for _, a := range alerts {
		if strings.HasPrefix(a, "0 ") || strings.HasSuffix(a, "—") {
			t.Errorf("a day of the week without alerts or acknowledgements: %q", alerts)
		}
	}
	heights := eval[[]float64](t, b.tab, `[...document.querySelectorAll('#trend-alerts rect.bar')].map(r => r.height.baseVal.value)`)
	if nonzero := len(slices.DeleteFunc(slices.Clone(heights), func(h float64) bool { return h == 0 })); nonzero != 7 {
		t.Errorf("the trend has %d days with alerts, want 7: %v", nonzero, heights)
	}
	yesterday := f.now().In(mustZone("Europe/Berlin")).AddDate(0, 0, -1).Format(time.DateOnly)
	b.visit("demo-07-report", "/ui/reports/demo/"+yesterday)
	if n := count("#alerts-per-hour rect.bar"); n < 23 {
		t.Errorf("yesterday's report: %d hours", n)
	}
	// A day of the week's history: paged at night, Bob a minute later, both delivered.
	exhausted := dbtest.Int64(t, f.pool, `select alert_id from alert_events where tenant_id = 'demo' and event = 'policy_exhausted'`)
	b.visit("demo-08-alert-history", fmt.Sprintf("/ui/alerts/%d", exhausted))
	if s := text(); !strings.Contains(s, "Every step of Demo: on call, then Bob was paged and nobody acknowledged") || count("table.deliveries tr.delivery.sent") != 2 ||
		!strings.Contains(s, "resolved") {
		t.Errorf("the exhausted alert's page:\n%s", s)
	}
	b.riverUI("demo-06-river-ui", "/ui/river/jobs?state=available")
	b.noViolations()
}

// The demo's week of history pages whoever the demo schedule has on call at each alert's time,
// as the oncall package computes it; its pages and deliveries were sent, its alerts resolved
// after they were acknowledged, and only the new alert is left to page. Loading again adds an
// alert and no history.
func TestDemoHistory(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	if err := schema.LoadDemo(ctx, pool, "http://127.0.0.1:9/"); err != nil {
		t.Fatal(err)
	}
	sched := dbtest.Int64(t, pool, `select id from oncall_schedules where tenant_id = 'demo'`)
	rows, err := pool.Query(ctx, `select e.at, (e.details->'responder_ids'->>0)::bigint from alert_events e
		where e.tenant_id = 'demo' and e.event = 'escalated' and e.escalation_step = 0 order by e.at`)
	if err != nil {
		t.Fatal(err)
	}
	type paged struct {
		At        time.Time
		Responder int64
	}
	pages, err := pgx.CollectRows(rows, pgx.RowToStructByPos[paged])
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 24 {
		t.Fatalf("%d first steps, want the week's 24", len(pages))
	}
	s, err := oncall.Load(ctx, pool, sched, pages[0].At.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		if r, ok := s.OnCall(p.At); !ok || r.ID != p.Responder {
			t.Errorf("%s: paged %d, on call %+v", p.At, p.Responder, r)
		}
	}
	for what, n := range map[string]int64{
		"an alert not resolved, or resolved before acknowledged": dbtest.Int64(t, pool, `select count(*) from alerts where tenant_id = 'demo' and source <> 'demo'
			and not (status = 'resolved' and acknowledged_at > created_at and resolved_at > acknowledged_at and next_escalation_at is null)`),
		"a page not sent":                dbtest.Int64(t, pool, `select count(*) from notifications where tenant_id = 'demo' and (status <> 'sent' or sent_at is null)`),
		"a page without a delivery":      dbtest.Int64(t, pool, `select count(*) from notifications n where not exists (select 1 from deliveries d where d.notification_id = n.id and d.status = 'sent')`),
		"an acknowledgement too long":    dbtest.Int64(t, pool, `select count(*) from alerts where resolved_at - acknowledged_at >= interval '30 minutes'`),
		"a history alert after the load": dbtest.Int64(t, pool, `select count(*) from alerts where source <> 'demo' and created_at > now()`),
	} {
		if n != 0 {
			t.Errorf("%d× %s", n, what)
		}
	}
	if err := schema.LoadDemo(ctx, pool, "http://127.0.0.1:9/"); err != nil {
		t.Fatal(err)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from alerts`); n != 26 {
		t.Errorf("%d alerts after a second load, want 24 + 2", n)
	}
}
