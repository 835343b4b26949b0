package escalation_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// crowd is n due alerts whose step 0 pages the team's schedule (a) and b directly.
func newCrowd(t *testing.T, f *fixture, n int) (a, b int64) {
	t.Helper()
	f.tenant("t1")
	a, b = f.responder("t1", "a"), f.responder("t1", "b")
	s := f.schedule("t1", "primary", "UTC")
	f.dailyLayer(s, 1, time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC), a)
	p := f.policy("t1", 0)
	f.step(p, 0, 5, scheduleT(s), responderT(b))
	f.step(p, 1, 5, responderT(b))
	f.exec(`insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
	        select 't1', 'crowd', 'alert ' || g, $1, $2::timestamptz, $2::timestamptz - g * interval '1 millisecond' from generate_series(1, $3) g`, p, t0, n)
	return a, b
}

// wantEachOnce fails unless every alert was escalated exactly once at step 0 (one escalated
// event, one page per responder) and the runs' summaries add up to that. The outbox's unique key
// would hide a second page of a step; the events and the summaries, which have none, would not.
func wantEachOnce(t *testing.T, f *fixture, n int, summaries ...scheduler.Summary) {
	t.Helper()
	escalated, pages := 0, 0
	for _, s := range summaries {
		escalated += s["alerts_escalated"].(int)
		pages += s["pages"].(int)
	}
	if escalated != n || pages != 2*n {
		t.Fatalf("summaries %v: %d escalated, %d pages, want %d and %d", summaries, escalated, pages, n, 2*n)
	}
	for _, c := range []struct {
		q    string
		args []any
		want int
	}{
		{`select count(*) from notifications`, nil, 2 * n},
		{`select count(*) from alert_events where event = 'escalated'`, nil, n},
		{`select count(distinct alert_id) from alert_events where event = 'escalated'`, nil, n},
		{`select count(*) from alert_events where event <> 'escalated'`, nil, 0},
		{`select count(*) from alerts where escalation_step = 0 and next_escalation_at = $1`, []any{t0.Add(minutes(5))}, n},
	} {
		if got := f.count(c.q, c.args...); got != c.want {
			t.Fatalf("%s: %d, want %d", c.q, got, c.want)
		}
	}
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// Two replicas firing at the same moment on the same due alerts page each step once.
func TestTwoReplicasPageEachStepOnce(t *testing.T) {
	t.Parallel()
	const n = 2000
	url := dbtest.NewURL(t)
	f := &fixture{t: t, ctx: quietContext(), pool: openPool(t, url)}
	newCrowd(t, f, n)
	replicas := []*escalation.Task{
		escalation.New(openPool(t, url), escalation.Options{BatchSize: 50}),
		escalation.New(openPool(t, url), escalation.Options{BatchSize: 50}),
	}
	summaries := make([]scheduler.Summary, len(replicas))
	errs := make([]error, len(replicas))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, task := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			summaries[i], errs[i] = task.Run(f.ctx, t0)
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantEachOnce(t, f, n, summaries...)
	t.Logf("replica summaries: %v / %v", summaries[0], summaries[1])

	// A late duplicate run at the same instant finds nothing.
	s := f.run(replicas[0], t0)
	wantSummary(t, s, map[string]int{"alerts_escalated": 0, "pages": 0})
}

// The same, with the interleaving forced: replica A holds its first batch's locks while replica
// B runs to the end. B skips exactly A's alerts, and A then escalates those and nothing else.
func TestReplicaSkipsAlertsAnotherHolds(t *testing.T) {
	t.Parallel()
	const n, batch = 500, 50
	url := dbtest.NewURL(t)
	f := &fixture{t: t, ctx: quietContext(), pool: openPool(t, url)}
	newCrowd(t, f, n)
	a, hook := interruptible(t, f, escalation.Options{BatchSize: batch})
	b := escalation.New(openPool(t, url), escalation.Options{BatchSize: batch})
	var sb scheduler.Summary
	var errB error
	hook.set(func(ctx context.Context, point string, n int) {
		if point == claimed && n == 1 {
			sb, errB = b.Run(f.ctx, t0) // while A holds its claim
		}
	})
	sa, err := a.Run(f.ctx, t0)
	if err != nil || errB != nil {
		t.Fatal(err, errB)
	}
	wantSummary(t, sa, map[string]int{"alerts_escalated": batch, "batches": 1})
	wantSummary(t, sb, map[string]int{"alerts_escalated": n - batch})
	wantEachOnce(t, f, n, sa, sb)
}

// A run cancelled inside a batch leaves nothing of that batch; the batches it committed stay,
// and the next run escalates the rest, once.
func TestCancelInsideABatchRollsItBack(t *testing.T) {
	t.Parallel()
	for _, point := range []string{claimed, written} {
		t.Run(point, func(t *testing.T) {
			const n, batch = 300, 100
			f := newFixture(t)
			newCrowd(t, f, n)
			task, hook := interruptible(t, f, escalation.Options{BatchSize: batch})
			ctx, cancel := context.WithCancel(f.ctx)
			defer cancel()
			hook.set(func(_ context.Context, p string, n int) {
				if p == point && n == 2 {
					cancel()
				}
			})
			s, err := task.Run(ctx, t0)
			if !isCancel(err) {
				t.Fatalf("run: %v, want a cancellation", err)
			}
			wantSummary(t, s, map[string]int{"alerts_escalated": batch, "pages": 2 * batch, "batches": 1})
			if got := f.count(`select count(*) from notifications`); got != 2*batch {
				t.Fatalf("%d notifications after the cancelled run, want %d (batch 1 only)", got, 2*batch)
			}
			if got := f.count(`select count(*) from alert_events`); got != batch {
				t.Fatalf("%d events after the cancelled run, want %d", got, batch)
			}
			if got := f.count(`select count(*) from alerts where escalation_step is not null`); got != batch {
				t.Fatalf("%d alerts escalated after the cancelled run, want %d", got, batch)
			}

			hook.set(nil)
			s2 := f.run(task, t0)
			wantSummary(t, s2, map[string]int{"alerts_escalated": n - batch})
			wantEachOnce(t, f, n, s, s2)
		})
	}
}

func TestCancelBetweenBatchesKeepsTheCommittedOnes(t *testing.T) {
	t.Parallel()
	const n, batch = 300, 100
	f := newFixture(t)
	newCrowd(t, f, n)
	task, hook := interruptible(t, f, escalation.Options{BatchSize: batch})
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	hook.set(func(_ context.Context, p string, n int) {
		if p == committed && n == 2 {
			cancel()
		}
	})
	s, err := task.Run(ctx, t0)
	if !isCancel(err) {
		t.Fatalf("run: %v, want a cancellation", err)
	}
	wantSummary(t, s, map[string]int{"alerts_escalated": 2 * batch, "batches": 2})
	hook.set(nil)
	s2 := f.run(task, t0)
	wantSummary(t, s2, map[string]int{"alerts_escalated": n - 2*batch, "batches": 1})
	wantEachOnce(t, f, n, s, s2)
}

// Near the deadline, only the first batch starts; the run ends cleanly and the next one goes on.
func TestOnlyTheFirstBatchStartsNearTheDeadline(t *testing.T) {
	t.Parallel()
	const n, batch = 10, 4
	f := newFixture(t)
	newCrowd(t, f, n)
	task := escalation.New(f.pool, escalation.Options{BatchSize: batch})
	escalation.SetStopMargin(task, 2*time.Hour)
	ctx, cancel := context.WithTimeout(f.ctx, time.Hour) // within the margin from the start
	defer cancel()
	s, err := task.Run(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, s, map[string]int{"alerts_escalated": batch, "batches": 1})
	if s["stopped_before_deadline"] != true {
		t.Fatalf("summary %v: want stopped_before_deadline", s)
	}
	s2 := f.run(task, t0)
	wantSummary(t, s2, map[string]int{"alerts_escalated": n - batch})
	wantEachOnce(t, f, n, s, s2)
}

// A run's workers share its alerts as replicas do: each step is paged once, the batches add up,
// and a run cancelled while several batches are in flight keeps exactly the committed ones.
func TestWorkersPageEachStepOnce(t *testing.T) {
	t.Parallel()
	const n, batch = 1000, 25
	f := newFixture(t)
	newCrowd(t, f, n)
	task := escalation.New(f.pool, escalation.Options{BatchSize: batch, Workers: 4})
	s := f.run(task, t0)
	wantSummary(t, s, map[string]int{"alerts_escalated": n, "batches": n / batch})
	wantEachOnce(t, f, n, s)
}

func TestWorkersCancelledMidRun(t *testing.T) {
	t.Parallel()
	const n, batch = 600, 25
	f := newFixture(t)
	newCrowd(t, f, n)
	task, hook := interruptible(t, f, escalation.Options{BatchSize: batch, Workers: 3})
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	hook.set(func(_ context.Context, p string, n int) {
		if p == claimed && n >= 8 { // batches run together: their numbers are seen out of order
			cancel()
		}
	})
	s, err := task.Run(ctx, t0)
	if !isCancel(err) {
		t.Fatalf("run: %v, want a cancellation", err)
	}
	committed := s["alerts_escalated"].(int)
	if committed == 0 || committed >= n || committed%batch != 0 {
		t.Fatalf("summary %v: want some whole batches committed", s)
	}
	if got := f.count(`select count(*) from alerts where escalation_step is not null`); got != committed {
		t.Fatalf("%d alerts escalated, the summary says %d", got, committed)
	}
	hook.set(nil)
	s2 := f.run(task, t0)
	wantSummary(t, s2, map[string]int{"alerts_escalated": n - committed})
	wantEachOnce(t, f, n, s, s2)
}
