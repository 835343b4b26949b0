package console

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/scheduler/schedulertest"
)

// yearOfRuns gives the fixture's escalation job a year of history, one firing a minute: 525,600
// rows with the fixture's own last day.
func yearOfRuns(tb testing.TB, f *fixture) {
	schedulertest.FillHistory(tb, f.pool, schedulertest.History{Job: "escalation", Until: fixtureNow.Add(-24*time.Hour - 30*time.Second),
		Every: time.Minute, Runs: 525600 - 1440, Duration: 40 * time.Millisecond, Jitter: 60 * time.Millisecond, FailEvery: 997})
}

// BenchmarkPages renders each page and API answer on the fixture with a year of job_runs
// (525,600 rows of an @every 1m job): the target is 100 ms per page. Credentials are checked
// as in production, remembered after the first request.
//
//	go test -run='^$' -bench=Pages -benchtime=20x -count=5 ./console/
func BenchmarkPages(b *testing.B) {
	f := newFixture(b)
	yearOfRuns(b, f)
	for _, path := range []string{
		"/ui/jobs",
		"/ui/runs?job=escalation",
		"/ui/runs?status=failed",
		"/ui/alerts",
		fmt.Sprintf("/ui/alerts/%d", f.alerts[0]),
		"/ui/oncall",
		"/ui/reports",
		"/ui/reports/acme/2027-05-04",
		"/api/v1/jobs",
		"/api/v1/runs?job=escalation&status=failed&limit=100",
		fmt.Sprintf("/api/v1/alerts/%d/timeline", f.alerts[0]),
		fmt.Sprintf("/api/v1/schedules/%d/oncall?at=2027-05-05T00:00:00Z&until=2027-06-05T00:00:00Z", f.sched),
		"/api/v1/reports/acme/2027-05-04",
	} {
		name := strings.NewReplacer("/", "_", "?", "_", "&", "_", "=", "-").Replace(strings.TrimPrefix(path, "/"))
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if rec := f.get(path); rec.Code != 200 {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
		})
	}
}

// TestStoreQueryPlans: the history a console reads grows without bound (runs, alerts, pages),
// so every statement whose cost could follow it reads an index range, in the custom and the
// generic plan, on the fixture with a year of runs: the run listings (scheduler's, checked in
// its own test on other shapes too), the alerts per hour, an alert's timeline and the listings
// of alerts and reports. With CONSOLE_EXPLAIN=1 it logs each plan.
func TestStoreQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of runs")
	}
	f := newFixture(t)
	yearOfRuns(t, f)
	ctx := context.Background()
	sqlAlerts := func(tenant, status string) (string, []any) { return alertsQuery(tenant, status, 100) }
	type shape struct {
		name, sql string
		args      []any
		table     string // the table whose scan must use an index
		index     string // that index, when it matters which
		settings  string // the statement's transaction's own settings
	}
	shapes := []shape{
		{"a tenant's reports", tenantReportsSQL, []any{fixtureNow.AddDate(0, 0, -30), fixtureNow, 500, "acme"}, "reports", "", ""},
		{"timeline events", timelineEventsSQL, []any{f.alerts[0]}, "alert_events", "alert_events_alert_idx", timelineSettings},
		{"timeline pages", timelinePagesSQL, []any{f.alerts[0]}, "notifications", "notifications_page_key", timelineSettings},
		{"timeline deliveries", timelineDeliveriesSQL, []any{f.alerts[0], fixtureNow.Add(-riverJobsKept)}, "deliveries", "", timelineSettings},
		{"timeline deliveries' jobs", timelineDeliveriesSQL, []any{f.alerts[0], fixtureNow.Add(-riverJobsKept)}, "river_job", "river_job_args_index", timelineSettings},
	}
	// A tenant and a common status is a filtered walk of the tenant's index; a rare status (the
	// few open alerts among years of resolved ones) may be cheaper to find by a scan, which
	// PostgreSQL then chooses: the listing is capped, and no index on alerts is added for it
	// (every escalation updates alerts, and each index makes that dearer).
	for _, c := range []struct{ tenant, status string }{{"acme", ""}, {"acme", "resolved"}, {"", ""}} {
		sql, args := sqlAlerts(c.tenant, c.status)
		shapes = append(shapes, shape{"alerts " + c.tenant + " " + c.status, sql, args, "alerts", "", ""})
	}
	// Enough rows that a sequential scan would not be the cheapest: a busy tenant's history.
	sqltest := func(sql string, args ...any) {
		t.Helper()
		if _, err := f.pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	sqltest(`insert into alerts (tenant_id, source, summary, status, created_at, next_escalation_at, resolved_at)
	         select case when i % 3 = 0 then 'acme' else 'globex' end, 'load', 'history', 'resolved', t, null, t + interval '1 h'
	         from generate_series(1, 60000) i, lateral (select $1::timestamptz - make_interval(mins => i) as t) x`, fixtureNow.Add(-72*time.Hour))
	sqltest(`insert into alert_events (tenant_id, alert_id, at, event) select tenant_id, id, created_at, 'escalated' from alerts where source = 'load'`)
	sqltest(`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at)
	         select tenant_id, id, 1, 'escalation', 0, 0, 'sent', created_at from alerts where source = 'load'`)
	sqltest(`insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, attempts, created_at, finished_at)
	         select n.tenant_id, n.id, 1, 'webhook', 'sent', 1, n.created_at, n.created_at from notifications n join alerts a on a.id = n.alert_id
	         where a.source = 'load'`)
	sqltest(`insert into river_job (kind, args, max_attempts, state, queue, attempt, attempted_at, finalized_at)
	         select 'delivery', jsonb_build_object('delivery_id', d.id), 10, 'completed', 'delivery', 1, d.created_at, d.created_at
	         from deliveries d where d.contact_method_id = 1 and d.id > 100`)
	// Three years of daily reports of 30 tenants.
	sqltest(`insert into reports (tenant_id, kind, period_date, period_start, period_end, time_zone, generated_at, body, text)
	         select t, 'daily', d::date, d, d + interval '1 day', 'UTC', d + interval '1 day',
	                jsonb_build_object('alerts', jsonb_build_object('triggered', 3), 'pages', jsonb_build_object('total', 5)), ''
	         from generate_series(1, 30) n, lateral (select case when n = 1 then 'acme' else 'load' || n end as t) x,
	              generate_series($1::timestamptz - interval '3 years', $1::timestamptz - interval '4 days', interval '1 day') d`, fixtureNow)
	sqltest(`analyze`)

	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for i, sh := range shapes {
		name := fmt.Sprintf("console_shape%d", i)
		if _, err := conn.Exec(ctx, "prepare "+name+" as "+sh.sql); err != nil {
			t.Fatalf("%s: %v", sh.name, err)
		}
		if _, err := conn.Exec(ctx, "reset all"); err != nil {
			t.Fatal(err)
		}
		if sh.settings != "" {
			if _, err := conn.Exec(ctx, strings.Replace(sh.settings, "set local", "set", 1)); err != nil {
				t.Fatal(err)
			}
		}
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, "set plan_cache_mode = "+mode); err != nil {
				t.Fatal(err)
			}
			ph := placeholders(len(sh.args))
			var plan []map[string]any
			err := conn.QueryRow(ctx, fmt.Sprintf("explain (format json) execute %s(%s)", name, strings.Join(ph, ", ")),
				append([]any{pgx.QueryExecModeSimpleProtocol}, sh.args...)...).Scan(&plan)
			if err != nil {
				t.Fatalf("%s, %s: %v", sh.name, mode, err)
			}
			scans := map[string]string{} // relation → node types and indexes
			var walk func(n map[string]any)
			walk = func(n map[string]any) {
				if rel, ok := n["Relation Name"].(string); ok {
					scans[rel] += n["Node Type"].(string) + ";"
					if kids, ok := n["Plans"].([]any); ok && n["Node Type"] == "Bitmap Heap Scan" {
						for _, k := range kids { // the bitmap's index scans
							if ix, ok := k.(map[string]any)["Index Name"].(string); ok {
								scans[rel] += ix + ";"
							}
						}
					}
				}
				if ix, ok := n["Index Name"].(string); ok {
					if rel, ok := n["Relation Name"].(string); ok {
						scans[rel] += ix + ";"
					}
				}
				if kids, ok := n["Plans"].([]any); ok {
					for _, k := range kids {
						walk(k.(map[string]any))
					}
				}
			}
			walk(plan[0]["Plan"].(map[string]any))
			got := scans[sh.table]
			if got == "" || strings.Contains(got, "Seq Scan") || !slices.ContainsFunc([]string{"Index Scan", "Index Only Scan", "Bitmap Heap Scan"},
				func(s string) bool { return strings.Contains(got, s) }) || sh.index != "" && !strings.Contains(got, sh.index+";") {
				js, _ := json.Marshal(plan)
				t.Errorf("%s, %s: %s read by %q: %s", sh.name, mode, sh.table, got, js)
			}
		}
		if os.Getenv("CONSOLE_EXPLAIN") == "1" {
			var plan []string
			rows, err := conn.Query(ctx, fmt.Sprintf("explain (analyze, buffers) execute %s(%s)", name, strings.Join(placeholders(len(sh.args)), ", ")),
				append([]any{pgx.QueryExecModeSimpleProtocol}, sh.args...)...)
			if err == nil {
				plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s:\n%s", sh.name, strings.Join(plan, "\n"))
		}
	}
}

// placeholders returns $1 to $n.
func placeholders(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("$%d", i+1)
	}
	return out
}
