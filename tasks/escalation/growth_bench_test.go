package escalation_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// growthDue is the due work of BenchmarkEscalateAsHistoryGrows: alerts due at each run.
const growthDue = 100

// growthScale scales the history of BenchmarkEscalateAsHistoryGrows: ESCALATION_GROWTH_SCALE,
// default 1 (1M alerts, 10M events, 1M pages and deliveries, a year of job_runs).
func growthScale(b *testing.B) float64 {
	if s := os.Getenv("ESCALATION_GROWTH_SCALE"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || v > 10 {
			b.Fatalf("ESCALATION_GROWTH_SCALE=%q: want a number in (0, 10]", s)
		}
		return v
	}
	return 1
}

// BenchmarkEscalateAsHistoryGrows: the cost of a run grows with its due work only. Two databases
// hold the same 100 due alerts (bench/escalation-floor.sh's data: each pages a schedule and a
// responder, two deliveries and River jobs per alert); one of them also holds a history: a
// million resolved alerts of the same tenant, ten million events, a million pages with a million
// finished deliveries, a day of River's finished jobs and a year of the escalation job's runs
// (525,600). Runs go through the scheduler (run history, lock, fence), alternating between the
// databases, and the benchmark reports each one's median run time and their ratio, history/fresh:
// flat within noise is 1. A first, untimed run on the history logs every plan (auto_explain,
// nested statements included), and the benchmark fails if any reads a big table sequentially.
//
// Seeding the history takes minutes (ESCALATION_GROWTH_SCALE=0.1 takes a tenth):
//
//	go test -run='^$' -bench=AsHistoryGrows -benchtime=20x -timeout=60m ./tasks/escalation/
func BenchmarkEscalateAsHistoryGrows(b *testing.B) {
	scale := growthScale(b)
	fresh, grown := newFixture(b), newFixture(b)
	fresh.seedFloorShape(growthDue)
	grown.seedFloorShape(growthDue)
	start := time.Now()
	grown.seedHistory(scale)
	b.Logf("history seeded in %s: %s", time.Since(start).Round(time.Second), grown.sizes())

	type side struct {
		f     *fixture
		sched *scheduler.Scheduler
		task  *escalation.Task
		times []time.Duration
	}
	sides := []*side{{f: fresh}, {f: grown}}
	for _, s := range sides {
		s.sched, s.task = growthTask(b, s.f, nil)
	}
	// One run on the history, untimed, logs its plans (auto_explain costs too much to time).
	plans := &planLog{}
	sched, task := growthTask(b, grown, plans)
	now := t0.Add(10 * time.Second)
	if run, err := sched.RunNow(grown.ctx, task, now); err != nil || run.Summary["alerts_escalated"] != growthDue {
		b.Fatalf("run %+v: %v", run, err)
	}
	plans.check(b, scale >= 1)
	for i := 0; b.Loop(); i++ {
		for k := range sides {
			s := sides[(i+k)%2]
			b.StopTimer()
			s.f.resetDue()
			b.StartTimer()
			begin := time.Now()
			run, err := s.sched.RunNow(s.f.ctx, s.task, now)
			took := time.Since(begin)
			if err != nil || run.Summary["alerts_escalated"] != growthDue || run.Summary["deliveries"] != 2*growthDue {
				b.Fatalf("run %+v: %v", run, err)
			}
			s.times = append(s.times, took)
		}
		now = now.Add(time.Minute) // a new firing each time, as the cron would
	}
	b.StopTimer()
	med := func(ts []time.Duration) time.Duration {
		ts = slices.Clone(ts)
		slices.Sort(ts)
		return ts[len(ts)/2]
	}
	b.ReportMetric(float64(med(sides[0].times).Microseconds())/1000, "fresh-ms/run")
	b.ReportMetric(float64(med(sides[1].times).Microseconds())/1000, "history-ms/run")
	b.ReportMetric(float64(med(sides[1].times))/float64(med(sides[0].times)), "history/fresh")
}

// seedHistory adds the history BenchmarkEscalateAsHistoryGrows describes, scaled.
func (f *fixture) seedHistory(scale float64) {
	n := func(v float64) int { return max(1, int(v*scale)) }
	alerts, events, runs, jobs := n(1e6), n(1e7), n(525600), n(86400)
	// The seeding session need not wait for the disk: a crash loses a benchmark's fixture only.
	f.exec(`alter database ` + pgx.Identifier{f.dbName()}.Sanitize() + ` set synchronous_commit = off`)
	f.pool.Reset()
	policy := f.id(`select id from escalation_policies`)
	// Resolved alerts of the last year, each paged once (a page, a delivery sent), ten events each.
	f.exec(`
		insert into alerts (tenant_id, source, summary, status, escalation_policy_id, created_at, acknowledged_at, resolved_at,
		                    escalation_step, escalation_loop, escalated_policy_id, last_escalated_at, next_escalation_at)
		select 't1', 'history', 'alert ' || g, 'resolved', $1, at, at + interval '3 minutes', at + interval '20 minutes',
		       0, 0, $1, at, at + interval '5 minutes'
		from generate_series(1, $2) g, lateral (select $3::timestamptz - interval '366 days' + g * (interval '365 days' / $2)) t(at)`,
		policy, alerts, t0)
	f.exec(`
		insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, created_at, sent_at)
		select a.tenant_id, a.id, r.id, 'escalation', 0, 0, 'sent', a.created_at, a.created_at + interval '2 seconds'
		from alerts a, (select min(id) id from responders) r where a.source = 'history'`)
	f.exec(`
		insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, attempts, created_at, sent_at, finished_at)
		select n.tenant_id, n.id, c.id, 'webhook', 'sent', 1, n.created_at, n.sent_at, n.sent_at
		from notifications n join contact_methods c on c.responder_id = n.responder_id`)
	f.exec(`
		insert into alert_events (tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
		select a.tenant_id, a.id, a.created_at + k * interval '1 minute', (array['escalated', 'no_one_on_call', 'ack_timeout', 'delivery_failed'])[1 + k % 4],
		       0, 0, jsonb_build_object('policy_id', a.escalation_policy_id, 'k', k)
		from (select * from alerts where source = 'history' order by id limit $1) a, generate_series(0, $2 - 1) k`,
		max(1, events/10), min(10, events))
	f.exec(`
		insert into job_runs (job, scheduled_at, started_at, finished_at, status, trigger, instance, summary)
		select 'escalation', at, at + interval '5 milliseconds', at + interval '60 milliseconds', 'succeeded', 'schedule', 'history',
		       '{"alerts_escalated": 0}'
		from generate_series(1, $1) g, lateral (select date_trunc('minute', $2::timestamptz) - g * interval '1 minute') t(at)`, runs, t0)
	f.exec(`
		insert into river_job (args, kind, max_attempts, queue, state, priority, attempt, attempted_at, finalized_at, created_at, scheduled_at)
		select jsonb_build_object('delivery_id', g), 'delivery', 10, 'delivery', 'completed', 1, 1, at, at, at, at
		from generate_series(1, $1) g, lateral (select now() - g * interval '1 second') t(at)`, jobs)
	f.exec(`vacuum analyze`)
}

// resetDue makes the benchmark's due alerts due again, as seeded, and removes what their last
// run wrote.
func (f *fixture) resetDue() {
	f.exec(`delete from river_job where state = 'available'`)
	f.exec(`delete from notifications n using alerts a where a.id = n.alert_id and a.source = 'bench'`) // their deliveries cascade
	f.exec(`delete from alert_events e using alerts a where a.id = e.alert_id and a.source = 'bench'`)
	f.exec(`update alerts set escalation_step = null, escalation_loop = 0, escalation_pass = 0, escalated_policy_id = null,
	        last_escalated_at = null, next_escalation_at = $1 where source = 'bench'`, t0)
}

func (f *fixture) dbName() string {
	var name string
	if err := f.pool.QueryRow(f.ctx, `select current_database()`).Scan(&name); err != nil {
		f.t.Fatal(err)
	}
	return name
}

// sizes names how many rows the big tables hold.
func (f *fixture) sizes() string {
	var parts []string
	for _, table := range []string{"alerts", "alert_events", "notifications", "deliveries", "job_runs", "river_job"} {
		parts = append(parts, fmt.Sprintf("%s %d", table, f.count(`select count(*) from `+table)))
	}
	return strings.Join(parts, ", ")
}

// growthTask returns a scheduler and an escalation task (with deliveries) on a pool of their own
// on f's database; with plans, every statement's plan is logged into it (auto_explain).
func growthTask(b *testing.B, f *fixture, plans *planLog) (*scheduler.Scheduler, *escalation.Task) {
	b.Helper()
	cfg := f.pool.Config()
	if plans != nil {
		cfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { plans.add(n.Message) }
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0;
				set auto_explain.log_nested_statements = on; set client_min_messages = log`)
			return err
		}
	}
	pool, enq := deliveringPool(b, cfg)
	// Runs are kept a year and more, so that the history's year of runs stays (the default, 30
	// days, would prune it at the first run).
	sched := scheduler.New(pool, scheduler.Options{Instance: "bench", Timeout: time.Minute, Retention: 400 * 24 * time.Hour,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	return sched, escalation.New(pool, escalation.Options{Deliveries: enq})
}

// planLog collects the plans auto_explain sends as notices.
type planLog struct {
	mu    sync.Mutex
	plans []string
}

func (p *planLog) add(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plans = append(p.plans, s)
}

// check fails (strict) or logs (a small history, where PostgreSQL rightly finds a sequential
// scan of a table of a few thousand rows cheaper than index probes) if a plan reads one of the
// big tables sequentially.
func (p *planLog) check(b *testing.B, strict bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.plans) == 0 {
		b.Fatal("no plan logged: is auto_explain available?")
	}
	for _, plan := range p.plans {
		for _, table := range []string{"alerts", "alert_events", "notifications", "deliveries", "job_runs", "river_job"} {
			if strings.Contains(plan, "Seq Scan on "+table+" ") {
				if strict {
					b.Fatalf("a sequential scan of %s:\n%s", table, plan[:min(len(plan), 6000)])
				}
				b.Logf("a sequential scan of %s (a small history)", table)
				return
			}
		}
	}
	b.Logf("%d plans of runs on the history, none reads a big table sequentially", len(p.plans))
}
