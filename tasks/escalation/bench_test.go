package escalation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/vocab"
)

// benchSeed makes a tenant whose policy's step 0 pages a schedule (one layer, one participant)
// and a responder, and inserts alerts with insertSQL ($1: the policy, $2: t0). It returns the
// fixture, ready: vacuumed and analysed.
func benchSeed(b *testing.B, insertSQL string) *fixture {
	b.Helper()
	f := newFixture(b)
	f.tenant("t1")
	a, r := f.responder("t1", "a"), f.responder("t1", "b")
	s := f.schedule("t1", "primary", "UTC")
	f.dailyLayer(s, 1, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), a)
	p := f.policy("t1", 0)
	f.step(p, 0, 5, scheduleT(s), responderT(r))
	f.exec(insertSQL, p, t0)
	f.exec(`vacuum analyze`)
	return f
}

// runOnce runs task at now, timed, and fails unless it escalated want alerts.
func runOnce(b *testing.B, f *fixture, task *escalation.Task, now time.Time, want int) {
	b.StartTimer()
	s, err := task.Run(f.ctx, now)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if s["alerts_escalated"] != want || s["pages"] != 2*want {
		b.Fatalf("summary %v, want %d alerts escalated with 2 pages each", s, want)
	}
}

// BenchmarkEscalate10k: one run over 10,000 due alerts, each paging a schedule and a responder.
// Target: at least 5,000 alerts/s.
func BenchmarkEscalate10k(b *testing.B) {
	const n = 10000
	f := benchSeed(b, `
		insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
		select 't1', 'bench', 'alert ' || g, $1, $2, $2 from generate_series(1, 10000) g`)
	task := escalation.New(f.pool, escalation.Options{})
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 { // back to due, as seeded
			f.exec(`truncate deliveries, notifications, alert_events`)
			f.exec(`update alerts set escalation_step = null, escalation_loop = 0, last_escalated_at = null, next_escalation_at = $1`, t0)
			f.exec(`vacuum analyze alerts`)
		}
		runOnce(b, f, task, t0.Add(10*time.Second), n)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// BenchmarkDue100Among1M: one run with 100 due alerts among 1,000,000 triggered alerts not yet
// due. Target: at most 50 ms per run. It also checks, with EXPLAIN, that the claim reads the
// partial index, and logs the plan (go test -v).
func BenchmarkDue100Among1M(b *testing.B) {
	const due = 100
	f := benchSeed(b, `
		insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
		select 't1', 'bench', 'alert ' || g, $1, $2::timestamptz - interval '1 day',
		       case when g <= 100 then $2::timestamptz - g * interval '1 second' else $2::timestamptz + interval '1 hour' + g * interval '1 second' end
		from generate_series(1, 1000100) g`)
	explainClaim(b, f)
	task := escalation.New(f.pool, escalation.Options{})
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		if i > 0 {
			f.exec(`truncate deliveries, notifications, alert_events`)
			f.exec(`update alerts set escalation_step = null, last_escalated_at = null, next_escalation_at = $1
			        where id <= $2`, t0.Add(-time.Second), due)
		}
		runOnce(b, f, task, t0, due)
	}
}

// explainClaim runs the claim under EXPLAIN (ANALYZE, BUFFERS), in a transaction rolled back,
// as the task sends it: an unnamed statement with its values bound (escalation.PlanMode), which
// PostgreSQL plans knowing them. It must read alerts_due_idx, a partial index on status =
// 'triggered' that the status parameter matches only in such a plan (a generic plan cannot use
// it; TestClaimAndAckPassUseTheirPartialIndexes checks real runs).
func explainClaim(b *testing.B, f *fixture) {
	b.Helper()
	var plan []string
	err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(f.ctx, "explain (analyze, buffers) "+escalation.ClaimSQL, escalation.PlanMode,
			t0, escalation.DefaultBatchSize, vocab.AlertTriggered)
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		b.Fatal(err)
	}
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, "alerts_due_idx") {
		b.Fatalf("the claim does not use alerts_due_idx:\n%s", text)
	}
	b.Logf("claim plan, 100 due among 1,000,100 triggered:\n%s", text)
}

// errRollback ends a transaction that must leave nothing.
var errRollback = errors.New("rollback")
