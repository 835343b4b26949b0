package report_test

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/tasks/report"
)

// The benchmark's day: Tuesday 2027-05-04 in Europe/Berlin (UTC+2), [22:00 UTC, 22:00 UTC).
const (
	benchStart = "2027-05-03T22:00:00Z"
	benchEnd   = "2027-05-04T22:00:00Z"
)

// seedBench fills the database with one tenant's heavy day: 100,000 alerts (80% acknowledged,
// 60% resolved, exponential-ish delays, 50 sources of skewed noisiness), 20,000 pages, 43,000
// escalation events and 10 schedules of three layers (one restricted to office hours) with
// overrides; plus history (300,000 alerts of the thirty days before, 300,000 events and 150,000 pages
// of the thirty days before) and 50,000 alerts of another tenant the same day, so the indexes
// have to select. random() is seeded: every run has the same data.
func seedBench(f *fixture) {
	f.tenant("bench", "Europe/Berlin")
	f.tenant("other", "Europe/Berlin")
	err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		for _, sql := range []string{
			`select setseed(0.42)`,
			`insert into responders (tenant_id, name) select 'bench', 'Responder ' || i from generate_series(1, 20) i`,
			// Alerts of the day: created evenly over it, source k with weight ~ 1/(k+1).
			`insert into alerts (tenant_id, source, summary, status, created_at, acknowledged_at, resolved_at, next_escalation_at)
			 select 'bench', src, 'alert ' || i,
			        case when res is not null then 'resolved' when ack is not null then 'acknowledged' else 'triggered' end,
			        created, ack, res, null
			 from (
			     select i, created, src, ack,
			            case when random() < 0.75 and ack is not null then ack + make_interval(secs => -ln(1 - random()) * 3600) end as res
			     from (
			         select i, created,
			                'source-' || lpad(least(49, floor(exp(random() * ln(50))) - 1)::int::text, 2, '0') as src,
			                case when random() < 0.8 then created + make_interval(secs => -ln(1 - random()) * 300) end as ack
			         from (select i, $1::timestamptz + make_interval(secs => i * 0.864) as created
			               from generate_series(0, 99999) i) g
			     ) a
			 ) b`,
			// The thirty days before, and another tenant the same day.
			`insert into alerts (tenant_id, source, summary, status, created_at, resolved_at, next_escalation_at)
			 select 'bench', 'old', 'old ' || i, case when i % 10 = 0 then 'triggered' else 'resolved' end,
			        $1::timestamptz - make_interval(secs => 1 + i * 8.64),
			        case when i % 10 <> 0 then $1::timestamptz - make_interval(secs => i * 8.64) + interval '30 minutes' end, null
			 from generate_series(0, 299999) i`,
			`insert into alerts (tenant_id, source, summary, status, created_at, acknowledged_at, next_escalation_at)
			 select 'other', 'source-' || (i % 7), 'other', 'acknowledged', $1::timestamptz + make_interval(secs => i * 1.728),
			        $1::timestamptz + make_interval(secs => i * 1.728 + 60), null
			 from generate_series(0, 49999) i`,
			// Pages: random alerts of the day to random responders at random times of the day.
			`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at)
			 select 'bench', a.min_id + floor(random() * 100000)::bigint, r.ids[1 + floor(random() * 20)::int], 'escalation', 0, i, 'sent',
			        $1::timestamptz + make_interval(secs => random() * 86400)
			 from generate_series(1, 20000) i,
			      (select min(id) as min_id from alerts where tenant_id = 'bench' and source <> 'old') a,
			      (select array_agg(id order by id) as ids from responders where tenant_id = 'bench') r`,
			// Events: escalations at steps 0-3, exhausted policies, ack timeouts.
			`insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step)
			 select 'bench', a.min_id + (i % 100000), $1::timestamptz + make_interval(secs => random() * 86400),
			        case when i <= 40000 then 'escalated' when i <= 42000 then 'policy_exhausted' else 'ack_timeout' end,
			        0, case when i <= 42000 then i % 4 end
			 from generate_series(1, 43000) i,
			      (select min(id) as min_id from alerts where tenant_id = 'bench' and source <> 'old') a`,
			// History: thirty days before of events and pages, and the other tenant's of the day,
			// so the day is a small slice of each table, as in production.
			`insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step)
			 select a.tenant_id, a.id, a.created_at + interval '1 minute', 'escalated', 0, 0
			 from alerts a where (a.source = 'old' and a.id % 10 = 0) or a.tenant_id = 'other'`,
			`insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step)
			 select 'bench', o.min_id + (i % 20000), $1::timestamptz - make_interval(secs => 1 + random() * 30 * 86400), 'escalated', 0, i % 4
			 from generate_series(1, 300000) i, (select min(id) as min_id from alerts where source = 'old') o`,
			`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at)
			 select 'bench', o.min_id + (i % 20000), r.ids[1 + i % 20], 'escalation', 1, i, 'sent',
			        $1::timestamptz - make_interval(secs => 1 + random() * 30 * 86400)
			 from generate_series(1, 150000) i, (select min(id) as min_id from alerts where source = 'old') o,
			      (select array_agg(id order by id) as ids from responders where tenant_id = 'bench') r`,
			// Ten schedules: a weekly office-hours layer, a daily layer under it, a 12-hour layer
			// at the bottom that ended three days into the day's week, and two overrides.
			`insert into oncall_schedules (tenant_id, name, time_zone)
			 select 'bench', 'Schedule ' || i, 'Europe/Berlin' from generate_series(1, 10) i`,
			`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
			 select s.id, l.name, l.priority, l.start, l.len, l.unit, l.people, l.ends
			 from oncall_schedules s,
			      (select array_agg(id order by id) as ids from responders where tenant_id = 'bench') r,
			      lateral (values
			          ('office', 3, timestamptz '2027-04-05 09:00+02', 1, 'week', array[r.ids[1 + s.id % 20], r.ids[1 + (s.id + 1) % 20]], null::timestamptz),
			          ('daily', 2, timestamptz '2027-04-01 08:00+02', 1, 'day', array[r.ids[1 + (s.id + 2) % 20], r.ids[1 + (s.id + 3) % 20], r.ids[1 + (s.id + 4) % 20]], timestamptz '2027-05-06 08:00+02'),
			          ('twelve', 1, timestamptz '2027-04-01 08:00+02', 12, 'hour', array[r.ids[1 + (s.id + 5) % 20], r.ids[1 + (s.id + 6) % 20]], timestamptz '2027-05-08 20:00+02')
			      ) as l(name, priority, start, len, unit, people, ends)
			 where s.tenant_id = 'bench'`,
			`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
			 select l.id, d, time '09:00', interval '9 hours'
			 from oncall_layers l, generate_series(1, 5) d where l.name = 'office'`,
			`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
			 select s.id, r.ids[1 + (s.id + 7) % 20], null::bigint, $1::timestamptz + interval '3 hours', $1::timestamptz + interval '5 hours', $1::timestamptz
			 from oncall_schedules s, (select array_agg(id order by id) as ids from responders where tenant_id = 'bench') r
			 union all
			 select s.id, r.ids[1 + (s.id + 8) % 20], null::bigint, $1::timestamptz + interval '2 days', $1::timestamptz + interval '2 days 6 hours', $1::timestamptz
			 from oncall_schedules s, (select array_agg(id order by id) as ids from responders where tenant_id = 'bench') r`,
		} {
			var args []any
			if strings.Contains(sql, "$1") {
				args = append(args, ts(f.t, benchStart))
			}
			if _, err := tx.Exec(f.ctx, sql, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatalf("seed: %v", err)
	}
	f.exec(`vacuum analyze`)
}

// BenchmarkReport100kAlerts times one report of the heavy day: each iteration deletes the report
// (untimed) and runs the task for that day. Before timing, it checks that no aggregate reads a
// table sequentially; with REPORT_EXPLAIN=1 it logs each query's EXPLAIN ANALYZE.
func BenchmarkReport100kAlerts(b *testing.B) {
	f := newFixture(b)
	seedBench(f)
	explainAll(f)
	task := report.New(f.pool, report.Options{CatchupDays: 1})
	now := ts(b, benchEnd).Add(time.Hour)
	if _, err := task.Run(f.ctx, now); err != nil { // the other tenant's report, once
		b.Fatal(err)
	}

	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		f.exec(`delete from reports where tenant_id = 'bench'`)
		b.StartTimer()
		sum, err := task.Run(f.ctx, now)
		if err != nil {
			b.Fatal(err)
		}
		if sum["reports_written"] != 1 {
			b.Fatalf("summary %v", sum)
		}
	}
	b.StopTimer()
	r := f.report("bench", benchStart).Body
	if r.Alerts.Triggered != 100000 || r.Pages.Total != 20000 || len(r.Schedules) != 10 || r.Escalations.Total != 40000 {
		b.Fatalf("unexpected report: %+v %+v", r.Alerts, r.Pages.HourSplit)
	}
}

// explainAll runs each aggregate under EXPLAIN ANALYZE on the benchmark's day and fails on a
// sequential scan of a table the report reads; it checks the generic plan too, which PostgreSQL
// may switch to for pgx's cached prepared statements. With REPORT_EXPLAIN=1 it logs the plans.
func explainAll(f *fixture) {
	start, end := ts(f.t, benchStart), ts(f.t, benchEnd)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	conn, err := f.pool.Acquire(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Release()
	for i, q := range []struct {
		name string
		sql  string
		args []any
	}{
		{"alerts", report.AlertsSQL, []any{"bench", start, end}},
		{"escalations", report.EscalationsSQL, append([]any{"bench", start, end}, report.EscalationEvents...)},
		{"pages", report.PagesSQL, report.PagesArgs("bench", start, end, berlin)},
		{"sources", report.SourcesSQL, []any{"bench", start, end, 5}},
	} {
		placeholders := make([]string, len(q.args))
		for j := range q.args {
			placeholders[j] = fmt.Sprintf("$%d", j+1)
		}
		name := fmt.Sprintf("bench_q%d", i)
		for _, mode := range []struct{ setting, explain string }{
			{"auto", "explain (analyze, format json) " + q.sql},
			{"force_generic_plan", "explain (format json) execute " + name + "(" + strings.Join(placeholders, ", ") + ")"},
		} {
			if _, err := conn.Exec(f.ctx, "set plan_cache_mode = "+mode.setting); err != nil {
				f.t.Fatal(err)
			}
			if mode.setting != "auto" {
				if _, err := conn.Exec(f.ctx, "prepare "+name+" as "+q.sql); err != nil {
					f.t.Fatalf("%s: %v", q.name, err)
				}
			}
			// EXPLAIN EXECUTE takes no bind parameters: let pgx inline the values.
			args := append([]any{pgx.QueryExecModeSimpleProtocol}, q.args...)
			var plan []map[string]any
			if err := conn.QueryRow(f.ctx, mode.explain, args...).Scan(&plan); err != nil {
				f.t.Fatalf("%s (%s): %v", q.name, mode.setting, err)
			}
			js, _ := json.Marshal(plan)
			for _, table := range []string{"alerts", "notifications", "alert_events"} {
				if seqScans(plan[0]["Plan"].(map[string]any), table) {
					f.t.Fatalf("%s (%s): sequential scan of %s: %s", q.name, mode.setting, table, js)
				}
			}
		}
		if _, err := conn.Exec(f.ctx, "set plan_cache_mode = auto"); err != nil {
			f.t.Fatal(err)
		}
		if os.Getenv("REPORT_EXPLAIN") == "1" {
			rows, err := conn.Query(f.ctx, "explain (analyze, buffers) "+q.sql, q.args...)
			if err != nil {
				f.t.Fatal(err)
			}
			text, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				f.t.Fatal(err)
			}
			f.t.Logf("%s:\n%s", q.name, strings.Join(text, "\n"))
		}
	}
}

// seqScans reports whether a plan node or any below it scans table sequentially.
func seqScans(node map[string]any, table string) bool {
	if node["Node Type"] == "Seq Scan" && node["Relation Name"] == table {
		return true
	}
	kids, _ := node["Plans"].([]any)
	return slices.ContainsFunc(kids, func(k any) bool { return seqScans(k.(map[string]any), table) })
}
