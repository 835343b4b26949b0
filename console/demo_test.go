package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/schema"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// TestDemoInChromium: the console on `opsworker demo`'s data, as `CONSOLE_USERS=… opsworker
// serve` shows it after the worker's first runs, in chromium, every page kept as a screenshot
// (demo-*.png). The demo's times are relative to its load, so the clock is the test's start.
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

	b.visit("demo-01-jobs", "/ui/jobs")
	if s := text(); !strings.Contains(s, "@every 1m") || !strings.Contains(s, `"pages":1`) {
		t.Errorf("jobs page: the escalation run that paged is not shown:\n%s", s)
	}
	b.visit("demo-02-oncall", "/ui/oncall")
	if who := eval[string](t, b.tab, `document.querySelector('.now-on-call .who').innerText`); who != "Carol" {
		t.Errorf("on call now: %q, want Carol (the demo's override)", who)
	}
	if n := eval[int](t, b.tab, `document.querySelectorAll('svg.timeline g.lane').length`); n != 4 {
		t.Errorf("%d lanes: want the two layers, the overrides and the result", n)
	}
	b.visit("demo-03-alerts", "/ui/alerts")
	if s := text(); !strings.Contains(s, "db-1: disk 95% full") {
		t.Errorf("alerts page:\n%s", s)
	}
	id := dbtest.Int64(t, f.pool, `select max(id) from alerts`)
	b.visit("demo-04-alert", fmt.Sprintf("/ui/alerts/%d", id))
	if s := text(); !strings.Contains(s, "escalated") || !strings.Contains(s, "Page #1 to Carol") || !strings.Contains(s, "webhook") {
		t.Errorf("the alert's page:\n%s", s)
	}
	b.visit("demo-05-reports", "/ui/reports")
	b.riverUI("demo-06-river-ui", "/ui/river/jobs?state=available")
	b.noViolations()
}
