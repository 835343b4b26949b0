package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/dbtest"
)

// ListRuns pages through a filtered history newest first, without losing or repeating a run,
// also where several runs share a start instant; the cursor survives its text form.
func TestListRuns(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	base := time.Date(2027, 5, 10, 12, 0, 0, 0, time.UTC)
	// 30 runs of escalation one minute apart (every 7th failed, every 5th a wake-up), and 3 runs
	// of report starting at the same instant.
	dbtest.Exec(t, pool, `insert into job_runs (job, scheduled_at, started_at, finished_at, status, error, summary, instance, trigger)
		select 'escalation', $1::timestamptz + make_interval(mins => i), $1 + make_interval(mins => i), $1 + make_interval(mins => i, secs => 0.25),
		       case when i % 7 = 0 then 'failed' else 'succeeded' end, case when i % 7 = 0 then 'boom' end,
		       jsonb_build_object('pages', i), 'test', case when i % 5 = 0 then 'notify' else 'schedule' end
		from generate_series(0, 29) i`, base)
	dbtest.Exec(t, pool, `insert into job_runs (job, started_at, finished_at, status, instance, trigger)
		select 'report', $1::timestamptz, $1::timestamptz + interval '1 s', 'succeeded', 'test', 'manual' from generate_series(1, 3)`, base.Add(10*time.Minute))

	all := func(t *testing.T, f RunFilter) []Run {
		t.Helper()
		var out []Run
		for pages := 0; ; pages++ {
			if pages > 100 {
				t.Fatal("the listing does not end")
			}
			p, err := ListRuns(ctx, pool, f)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Runs...)
			if p.Next.IsZero() {
				return out
			}
			c, err := ParseRunCursor(p.Next.String())
			if err != nil || c.ID != p.Next.ID || !c.StartedAt.Equal(p.Next.StartedAt) {
				t.Fatalf("cursor %q parses to %+v, %v; want %+v", p.Next.String(), c, err, p.Next)
			}
			f.After = c
		}
	}
	for _, tc := range []struct {
		name string
		f    RunFilter
		want int
	}{
		{"everything", RunFilter{Limit: 4}, 33},
		{"one job", RunFilter{Job: "escalation", Limit: 7}, 30},
		{"failed", RunFilter{Status: "failed", Limit: 2}, 5},
		{"failed escalations by wake-up", RunFilter{Job: "escalation", Status: "failed", Trigger: "notify"}, 1}, // i = 0
		{"a window", RunFilter{Since: base.Add(10 * time.Minute), Until: base.Add(20 * time.Minute), Limit: 1}, 13},
		{"same instant", RunFilter{Job: "report", Limit: 1}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := all(t, tc.f)
			if len(got) != tc.want {
				t.Fatalf("%d runs, want %d", len(got), tc.want)
			}
			ids := map[int64]bool{}
			for i, r := range got {
				if ids[r.ID] {
					t.Fatalf("run %d listed twice", r.ID)
				}
				ids[r.ID] = true
				if i > 0 && (r.StartedAt.After(got[i-1].StartedAt) || r.StartedAt.Equal(got[i-1].StartedAt) && r.ID > got[i-1].ID) {
					t.Fatalf("not newest first at %d: %v after %v", i, r.StartedAt, got[i-1].StartedAt)
				}
				if tc.f.Job != "" && r.Job != tc.f.Job || tc.f.Status != "" && r.Status != tc.f.Status || tc.f.Trigger != "" && r.Trigger != tc.f.Trigger {
					t.Fatalf("run %+v does not match %+v", r, tc.f)
				}
			}
		})
	}
	p, err := ListRuns(ctx, pool, RunFilter{Job: "escalation", Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := p.Runs[0]
	if r.Summary["pages"] != float64(29) || r.Trigger != "schedule" || r.Status != "succeeded" ||
		r.FinishedAt.Sub(r.StartedAt) != 250*time.Millisecond || !r.ScheduledAt.Equal(base.Add(29*time.Minute)) {
		t.Fatalf("newest run %+v", r)
	}

	for _, f := range []RunFilter{
		{Status: "done"}, {Trigger: "cron"}, {Limit: -1}, {Limit: MaxRunsLimit + 1},
		{Since: base, Until: base},
	} {
		if _, err := ListRuns(ctx, pool, f); !errors.Is(err, ErrBadFilter) {
			t.Errorf("%+v: %v, want ErrBadFilter", f, err)
		}
	}
	for _, s := range []string{"x", "1-", "-1", "12-0", "12-x"} {
		if _, err := ParseRunCursor(s); !errors.Is(err, ErrBadFilter) {
			t.Errorf("cursor %q: %v, want ErrBadFilter", s, err)
		}
	}
}

// RunDurations sums a day into buckets, empty buckets included, leaving out skipped runs.
func TestRunDurations(t *testing.T) {
	pool := dbtest.New(t)
	from := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	dbtest.Exec(t, pool, `insert into job_runs (job, started_at, finished_at, status, instance) values
		('escalation', $1::timestamptz, $1::timestamptz + interval '1 s', 'succeeded', 't'),
		('escalation', $1 + interval '10 min', $1 + interval '10 min 3 s', 'failed', 't'),
		('escalation', $1 + interval '20 min', $1 + interval '20 min', 'skipped', 't'),
		('report', $1, $1 + interval '9 s', 'succeeded', 't'),
		('escalation', $1 + interval '2 h', $1 + interval '2 h 2 s', 'succeeded', 't')`, from)
	got, err := RunDurations(context.Background(), pool, "escalation", from, from.Add(2*time.Hour), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || !got[3].End.Equal(from.Add(2*time.Hour)) || !got[1].Start.Equal(from.Add(30*time.Minute)) {
		t.Fatalf("buckets %+v", got)
	}
	if b := got[0]; b.Runs != 2 || b.Failed != 1 || b.Max != 3*time.Second || b.Mean != 2*time.Second {
		t.Fatalf("first bucket %+v", b)
	}
	for _, b := range got[1:] {
		if b.Runs != 0 {
			t.Fatalf("bucket %+v: the run at the window's end counted", b)
		}
	}
}

// TestListRunsQueryPlans: every shape of the listing, and the durations aggregate, read job_runs
// through an index, never a sequential scan, in the custom and in the generic plan: a year of an
// every-minute job (525,600 rows) is what the console's benchmark lists from. Here 60,000 rows of
// three jobs, a few failed. With SCHEDULER_EXPLAIN=1 it logs each plan.
func TestListRunsQueryPlans(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `insert into job_runs (job, scheduled_at, started_at, finished_at, status, instance, trigger)
	        select case when i % 500 = 0 then 'report' when i % 20 = 0 then 'delivery' else 'escalation' end,
	               t, t, t + interval '2 s', case when i % 997 = 0 then 'failed' else 'succeeded' end, 'bench',
	               case when i % 3 = 0 then 'notify' else 'schedule' end
	        from generate_series(1, 60000) i, lateral (select timestamptz '2027-05-10 00:00Z' - make_interval(mins => i) as t) x`)
	dbtest.Exec(t, pool, `vacuum analyze job_runs`)
	now := time.Date(2027, 5, 10, 0, 0, 0, 0, time.UTC)
	cursor := RunCursor{StartedAt: now.Add(-time.Hour), ID: 30000}
	type shape struct {
		name string
		sql  string
		args []any
	}
	var shapes []shape
	for _, f := range []RunFilter{
		{},
		{Job: "escalation"},
		{Job: "report", Status: "succeeded", Limit: 1},
		{Status: "failed"},
		{Job: "escalation", Status: "failed", Trigger: "notify"},
		{Trigger: "manual"},
		{Job: "escalation", Since: now.Add(-24 * time.Hour), Until: now, After: cursor},
		{Status: "failed", After: cursor},
	} {
		sql, args, _, err := listRunsSQL(f)
		if err != nil {
			t.Fatal(err)
		}
		shapes = append(shapes, shape{fmt.Sprintf("%+v", f), sql, args})
	}
	starts := make([]time.Time, 96)
	for i := range starts {
		starts[i] = now.Add(-24*time.Hour + time.Duration(i)*15*time.Minute)
	}
	shapes = append(shapes, shape{"durations", runDurationsSQL, []any{"escalation", starts, now.Add(-24 * time.Hour), now}})

	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for i, sh := range shapes {
		name := fmt.Sprintf("shape%d", i)
		if _, err := conn.Exec(ctx, "prepare "+name+" as "+sh.sql); err != nil {
			t.Fatalf("%s: %v", sh.name, err)
		}
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, "set plan_cache_mode = "+mode); err != nil {
				t.Fatal(err)
			}
			placeholders := make([]string, len(sh.args))
			for j := range placeholders {
				placeholders[j] = fmt.Sprintf("$%d", j+1)
			}
			explain := fmt.Sprintf("explain (format json) execute %s(%s)", name, strings.Join(placeholders, ", "))
			var plan []map[string]any
			if err := conn.QueryRow(ctx, explain, append([]any{pgx.QueryExecModeSimpleProtocol}, sh.args...)...).Scan(&plan); err != nil {
				t.Fatalf("%s, %s: %v", sh.name, mode, err)
			}
			js, _ := json.Marshal(plan)
			if strings.Contains(string(js), `"Seq Scan"`) || !slices.ContainsFunc([]string{`"Index Scan"`, `"Index Only Scan"`, `"Bitmap Index Scan"`},
				func(n string) bool { return strings.Contains(string(js), n) }) {
				t.Errorf("%s, %s: not read through an index: %s", sh.name, mode, js)
			}
			if mode == "force_custom_plan" && os.Getenv("SCHEDULER_EXPLAIN") == "1" {
				t.Logf("%s: %s", sh.name, js)
			}
		}
	}
}
