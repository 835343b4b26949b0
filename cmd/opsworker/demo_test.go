package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// runBinary runs the built command with the database URL and returns stdout, stderr and exit code.
func runBinary(t *testing.T, dbURL string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(opsworkerBinary(t), args...)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "LOG_FORMAT=json")
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// logLines returns the JSON log lines with message msg.
func logLines(t *testing.T, stderr, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if line == "" {
			continue // an idle run logs nothing at info
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// The issues' acceptance: on the demo data, `opsworker run escalation` pages the on-call
// responder of step 0 (Carol, through the schedule's override), then step 1 (Bob) after its
// one-minute delay and not before; `opsworker run report --at` a time after the demo tenant's
// day stores a report a person can read. (The demo's week of history is resolved: only the new
// alert pages, and the day's report counts it alone.)
func TestDemoEscalatesAndReports(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	if _, errs, code := runBinary(t, dbURL, "demo"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ids := map[string]int64{}
	rows, _ := pool.Query(context.Background(), "select name, id from responders")
	for rows.Next() {
		var name string
		var id int64
		rows.Scan(&name, &id)
		ids[name] = id
	}
	rows.Close()

	escalate := func(at time.Time) []map[string]any {
		out, errs, code := runBinary(t, dbURL, "run", "escalation", "--at", at.UTC().Format(time.RFC3339), "--allow-future")
		if code != 0 {
			t.Fatalf("run escalation: exit %d: %s", code, errs)
		}
		var run struct{ Status string }
		if err := json.Unmarshal([]byte(out), &run); err != nil || run.Status != "succeeded" {
			t.Fatalf("run output %q: %v", out, err)
		}
		return logLines(t, errs, "alert escalated")
	}
	paged := func(line map[string]any) float64 {
		r, _ := line["responder_ids"].([]any)
		if len(r) != 1 {
			t.Fatalf("want one responder paged: %v", line)
		}
		return r[0].(float64)
	}

	t0 := time.Now().Add(time.Second)
	first := escalate(t0)
	if len(first) != 1 || first[0]["step"] != 0.0 || paged(first[0]) != float64(ids["Carol"]) || len(first[0]["schedule_ids"].([]any)) != 1 {
		t.Fatalf("first run: %v, want Carol paged at step 0 through the schedule (responders %v)", first, ids)
	}
	if early := escalate(t0.Add(30 * time.Second)); len(early) != 0 {
		t.Fatalf("step 1 paged before its delay: %v", early)
	}
	second := escalate(t0.Add(61 * time.Second))
	if len(second) != 1 || second[0]["step"] != 1.0 || paged(second[0]) != float64(ids["Bob"]) {
		t.Fatalf("second run: %v, want Bob paged at step 1", second)
	}
	var pages []string
	rows, _ = pool.Query(context.Background(), `
		select r.name || ':' || n.escalation_step || ':' || n.status from notifications n join responders r on r.id = n.responder_id
		where n.alert_id = (select max(id) from alerts where tenant_id = 'demo') order by n.id`)
	for rows.Next() {
		var s string
		rows.Scan(&s)
		pages = append(pages, s)
	}
	rows.Close()
	if strings.Join(pages, " ") != "Carol:0:pending Bob:1:pending" {
		t.Fatalf("notifications = %v", pages)
	}

	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := t0.Add(61 * time.Second).In(berlin)
	after := time.Date(day.Year(), day.Month(), day.Day()+1, 1, 0, 0, 0, berlin)
	if _, errs, code := runBinary(t, dbURL, "run", "report", "--at", after.Format(time.RFC3339), "--allow-future"); code != 0 {
		t.Fatalf("run report: exit %d: %s", code, errs)
	}
	var text string
	var triggered, pagesTotal int
	err = pool.QueryRow(context.Background(), `
		select string_agg(text, e'\n' order by period_start), sum((body->'alerts'->>'triggered')::int), sum((body->'pages'->>'total')::int)
		  from reports where tenant_id = 'demo' and period_date = $1`, day.Format(time.DateOnly)).Scan(&text, &triggered, &pagesTotal)
	if err != nil {
		t.Fatal(err)
	}
	if triggered != 1 || pagesTotal != 2 {
		t.Fatalf("reports count %d alerts and %d pages, want 1 and 2:\n%s", triggered, pagesTotal, text)
	}
	for _, want := range []string{"Daily report: Demo GmbH (demo)", "Europe/Berlin", "Carol: 1", "Bob: 1", "Schedule Demo on-call"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}
}
