package scheduler

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/dbtest"
)

// TestOldestRunningQueryPlan: the running-runs query reads only the running rows of job_runs
// (through an index partial on status = 'running'), not the history: 50,000 rows of 30 days
// (escalation every minute, delivery, report), a few running. It checks the custom and the
// generic plan, and the answer; with SCHEDULER_EXPLAIN=1 it logs EXPLAIN ANALYZE.
func TestOldestRunningQueryPlan(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `insert into job_runs (job, scheduled_at, started_at, finished_at, status, instance)
	        select case when i % 20 = 0 then 'delivery' when i % 500 = 0 then 'report' else 'escalation' end,
	               t, t + interval '10 ms', t + interval '2 s', case when i % 97 = 0 then 'failed' else 'succeeded' end, 'bench'
	        from generate_series(1, 50000) i, lateral (select timestamptz '2027-05-10 00:00Z' - make_interval(secs => i * 51.84) as t) x`)
	running := func(job, at string) {
		dbtest.Exec(t, pool, `insert into job_runs (job, scheduled_at, started_at, status, instance, trigger) values ($1, $2, $2, 'running', 'test', 'manual')`, job, at)
	}
	running("escalation", "2027-05-09T23:59:00Z")
	running("report", "2027-05-10T00:00:00Z")
	running("delivery", "2027-05-01T00:00:00Z") // abandoned
	dbtest.Exec(t, pool, `vacuum analyze job_runs`)

	rows, err := pool.Query(ctx, `select indexname from pg_indexes
	                              where tablename = 'job_runs' and indexdef like '%WHERE (status = ''running''::text)'`)
	if err != nil {
		t.Fatal(err)
	}
	partial, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(partial) == 0 {
		t.Fatal("no index of job_runs partial on status = 'running'")
	}

	notBefore := time.Date(2027, 5, 9, 0, 0, 0, 0, time.UTC)
	args := []any{"report", notBefore}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "prepare oldest as "+oldestRunningSQL); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []struct{ setting, explain string }{
		{"auto", "explain (analyze, format json) " + oldestRunningSQL},
		{"force_generic_plan", "explain (format json) execute oldest($1, $2)"},
	} {
		if _, err := conn.Exec(ctx, "set plan_cache_mode = "+mode.setting); err != nil {
			t.Fatal(err)
		}
		var plan []map[string]any
		if err := conn.QueryRow(ctx, mode.explain, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...).Scan(&plan); err != nil {
			t.Fatalf("%s: %v", mode.setting, err)
		}
		js, _ := json.Marshal(plan)
		// An index partial on running rows, or one led by the status (00009's, for the
		// console) read from status = 'running' on: either way only running rows are read.
		if strings.Contains(string(js), `"Node Type":"Seq Scan"`) || !slices.ContainsFunc(partial, func(ix string) bool {
			return strings.Contains(string(js), `"Index Name":"`+ix+`"`)
		}) && !strings.Contains(string(js), `"Index Cond":"((status = 'running'::text)`) {
			t.Fatalf("%s: not a scan of an index of running rows only %v: %s", mode.setting, partial, js)
		}
	}
	if _, err := conn.Exec(ctx, "set plan_cache_mode = auto"); err != nil {
		t.Fatal(err)
	}
	// The answer: the escalation run's firing, not the report's own run nor the abandoned one.
	since, err := OldestRunning(ctx, conn, "report", notBefore)
	if err != nil {
		t.Fatal(err)
	}
	if !since.Equal(time.Date(2027, 5, 9, 23, 59, 0, 0, time.UTC)) {
		t.Fatalf("running since %s", since)
	}
	if none, err := OldestRunning(ctx, conn, "report", time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)); err != nil || !none.IsZero() {
		t.Fatalf("with every running run too old: %v, %v; want the zero time", none, err)
	}
	if os.Getenv("SCHEDULER_EXPLAIN") == "1" {
		rows, err := conn.Query(ctx, "explain (analyze, buffers) "+oldestRunningSQL, args...)
		if err != nil {
			t.Fatal(err)
		}
		text, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("job_runs:\n%s", strings.Join(text, "\n"))
	}
}
