package report_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/report"
)

// TestHeldBackWhileAnotherJobRuns: an escalation run fired at 23:59 and still running at
// midnight may yet commit pages and events stamped 23:59, so the day is not written; the summary
// counts it and the debug log says so. Once the run has finished, the next report run writes the
// day, with what the escalation run committed late. A manual run (no scheduled_at) holds back
// from the time it started.
func TestHeldBackWhileAnotherJobRuns(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	var logs syncBuffer
	ctx := scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	task := report.New(f.pool, report.Options{CatchupDays: 2})
	run := func(now string) scheduler.Summary {
		t.Helper()
		sum, err := task.Run(ctx, ts(t, now))
		if err != nil {
			t.Fatalf("run at %s: %v", now, err)
		}
		return sum
	}

	esc := f.jobRun("escalation", "2027-05-09T23:59:00Z", "2027-05-09T23:59:00.010Z", "running")
	wantSummary(t, run("2027-05-10T00:00:00Z"), map[string]int{"reports_written": 1, "days_caught_up": 1, "days_held_back": 1})
	if got := f.periods("acme"); !slices.Equal(got, []string{"2027-05-08T00:00:00Z"}) {
		t.Fatalf("periods %v: 05-09 is held back, 05-08 ended before the escalation run fired", got)
	}
	if !strings.Contains(logs.String(), `"msg":"days held back`) || !strings.Contains(logs.String(), `"days_held_back":1,"running_since":"2027-05-09T23:59:00Z"`) {
		t.Fatalf("debug log does not say the day is held back:\n%s", logs.String())
	}

	// The escalation run commits a page stamped with its firing's time, after midnight.
	r := f.responder("acme", "Alice")
	a := f.alert("acme", "late", "2027-05-09T23:59:00Z", "", "")
	f.page("acme", a, r, "2027-05-09T23:59:00Z")
	wantSummary(t, run("2027-05-10T00:01:00Z"), map[string]int{"reports_written": 0, "days_held_back": 1})

	f.exec(`update job_runs set status = 'succeeded', finished_at = '2027-05-10T00:01:30Z' where id = $1`, esc)
	wantSummary(t, run("2027-05-10T00:02:00Z"), map[string]int{"reports_written": 1, "days_caught_up": 0, "days_held_back": 0})
	if b := f.report("acme", "2027-05-09T00:00:00Z").Body; b.Alerts.Triggered != 1 || b.Pages.Total != 1 {
		t.Fatalf("the late writes are not in the report: %s %s", jsonOf(t, b.Alerts), jsonOf(t, b.Pages))
	}

	// A manual run, started before the end of 05-10.
	manual := f.jobRun("escalation", "", "2027-05-10T23:59:30Z", "running")
	wantSummary(t, run("2027-05-11T00:00:30Z"), map[string]int{"reports_written": 0, "days_held_back": 1})
	f.exec(`update job_runs set status = 'failed', finished_at = '2027-05-11T00:00:40Z' where id = $1`, manual)
	wantSummary(t, run("2027-05-11T00:01:00Z"), map[string]int{"reports_written": 1, "days_held_back": 0})
	if got := f.periods("acme"); len(got) != 3 {
		t.Fatalf("periods %v", got)
	}
}

// TestNotHeldBack: what does not hold a day back: a run of the report task itself, a row left
// running more than 24 hours ago (a crashed process), a finished run, and a run fired at the
// day's end (its rows belong to the next day).
func TestNotHeldBack(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	f.jobRun("report", "2027-05-09T23:59:00Z", "2027-05-09T23:59:00Z", "running")
	f.jobRun("escalation", "2027-05-08T23:00:00Z", "2027-05-08T23:00:00Z", "running")
	f.jobRun("escalation", "2027-05-09T23:59:00Z", "2027-05-09T23:59:00Z", "succeeded")
	f.jobRun("escalation", "2027-05-09T23:58:00Z", "2027-05-09T23:58:00Z", "failed")
	f.jobRun("escalation", "2027-05-09T23:57:00Z", "2027-05-09T23:57:00Z", "skipped")
	f.jobRun("escalation", "2027-05-10T00:00:00Z", "2027-05-10T00:00:00Z", "running")
	sum := f.run(report.New(f.pool, report.Options{CatchupDays: 2}), "2027-05-10T00:00:00Z")
	wantSummary(t, sum, map[string]int{"reports_written": 2, "days_held_back": 0})
}
