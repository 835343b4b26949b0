package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/robfig/cron/v3"

	"github.com/opsworker/opsworker/dbtest"
)

// logTap is a slog handler that hands every record to the test, so tests wait on what the
// scheduler says instead of sleeping.
type logTap struct {
	attrs   []slog.Attr
	records chan slog.Record
}

func newLogTap() *logTap { return &logTap{records: make(chan slog.Record, 10000)} }

func (h *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (h *logTap) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.records <- r
	return nil
}
func (h *logTap) WithAttrs(as []slog.Attr) slog.Handler {
	return &logTap{attrs: append(append([]slog.Attr{}, h.attrs...), as...), records: h.records}
}
func (h *logTap) WithGroup(string) slog.Handler { return h }

// waitFor returns the next record whose message starts with prefix.
func (h *logTap) waitFor(t *testing.T, prefix string) slog.Record {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case r := <-h.records:
			if strings.HasPrefix(r.Message, prefix) {
				return r
			}
		case <-timeout:
			t.Fatalf("no log line %q within 30s", prefix)
		}
	}
}

func attr(r slog.Record, key string) slog.Value {
	var v slog.Value
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value
			return false
		}
		return true
	})
	return v
}

// funcJob adapts a function to Job.
type funcJob struct {
	name string
	run  func(ctx context.Context, now time.Time) (Summary, error)
}

func (j funcJob) Name() string { return j.name }
func (j funcJob) Run(ctx context.Context, now time.Time) (Summary, error) {
	return j.run(ctx, now)
}

type fixture struct {
	pool    *pgxpool.Pool
	tap     *logTap
	reg     *prometheus.Registry
	metrics *Metrics
}

func newFixture(t *testing.T) fixture {
	reg := prometheus.NewRegistry()
	return fixture{pool: dbtest.New(t), tap: newLogTap(), reg: reg, metrics: NewMetrics(reg)}
}

func (f fixture) scheduler(opts Options) *Scheduler {
	opts.Logger = slog.New(f.tap)
	if opts.Metrics == nil {
		opts.Metrics = f.metrics
	}
	return New(f.pool, opts)
}

func everySecond(t *testing.T) Spec {
	s, err := ParseSpec("@every 1s", time.UTC, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type runRow struct {
	ID          int64
	ScheduledAt *time.Time
	Status      string
	Error       *string
	Summary     map[string]any
	Instance    string
}

func runs(t *testing.T, pool *pgxpool.Pool, job string) []runRow {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"select id, scheduled_at, status, error, summary, instance from job_runs where job = $1 order by id", job)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []runRow
	for rows.Next() {
		var r runRow
		if err := rows.Scan(&r.ID, &r.ScheduledAt, &r.Status, &r.Error, &r.Summary, &r.Instance); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func shutdown(s *Scheduler, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	s.Shutdown(ctx)
}

func TestNoOverlap(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	started, release := make(chan struct{}, 10), make(chan struct{})
	var calls atomic.Int32
	if err := s.Add(everySecond(t), funcJob{"slow", func(ctx context.Context, _ time.Time) (Summary, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		return Summary{"ok": true}, nil
	}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	<-started
	skip := f.tap.waitFor(t, "firing skipped: the previous run is still running")
	if attr(skip, "job").String() != "slow" {
		t.Errorf("skip line lacks the job: %v", skip)
	}
	close(release)
	shutdown(s, 30*time.Second)

	if got := testutil.ToFloat64(f.metrics.skipped.WithLabelValues("slow", skipOverlap)); got < 1 {
		t.Errorf("skipped{overlap} = %v, want >= 1", got)
	}
	var ran, skipped int
	for _, r := range runs(t, f.pool, "slow") {
		switch r.Status {
		case statusSucceeded:
			ran++
		case statusSkipped:
			skipped++
			if r.Error == nil || !strings.Contains(*r.Error, "still running") {
				t.Errorf("skipped row error = %v", r.Error)
			}
		default:
			t.Errorf("unexpected row %+v", r)
		}
	}
	if ran != int(calls.Load()) || skipped < 1 {
		t.Errorf("history: %d succeeded (job ran %d times), %d skipped", ran, calls.Load(), skipped)
	}
}

func TestPanicIsRecoveredAndTheJobRunsAgain(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	var calls atomic.Int32
	second := make(chan struct{})
	s.Add(everySecond(t), funcJob{"boom", func(ctx context.Context, _ time.Time) (Summary, error) {
		switch calls.Add(1) {
		case 1:
			panic("kaboom")
		case 2:
			close(second)
		}
		return Summary{"n": 1}, nil
	}})
	s.Start()
	failed := f.tap.waitFor(t, "run failed")
	if !strings.Contains(attr(failed, "stack").String(), "scheduler_test.go") {
		t.Errorf("panic line has no stack: %v", failed)
	}
	<-second
	shutdown(s, 30*time.Second)
	rows := runs(t, f.pool, "boom")
	if len(rows) < 2 || rows[0].Status != statusFailed || rows[1].Status != statusSucceeded {
		t.Fatalf("history = %+v, want failed then succeeded", rows)
	}
	if rows[0].Error == nil || *rows[0].Error != "panic: kaboom" {
		t.Errorf("panic row error = %v", rows[0].Error)
	}
	if got := testutil.ToFloat64(f.metrics.runs.WithLabelValues("boom", statusFailed, TriggerSchedule)); got != 1 {
		t.Errorf("runs{failed} = %v", got)
	}
}

func TestDeadlineCancelsTheRun(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{Timeout: time.Second})
	run, err := s.RunNow(context.Background(), funcJob{"stuck", func(ctx context.Context, _ time.Time) (Summary, error) {
		<-ctx.Done()
		return Summary{"done": 0}, ctx.Err()
	}}, time.Now())
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, errDeadline) {
		t.Fatalf("err = %v", err)
	}
	rows := runs(t, f.pool, "stuck")
	if len(rows) != 1 || rows[0].ID != run.ID || rows[0].Status != statusFailed || !strings.Contains(*rows[0].Error, "JOB_TIMEOUT") {
		t.Fatalf("history = %+v", rows)
	}
	if rows[0].Summary["done"] != float64(0) {
		t.Errorf("summary of a failed run not kept: %v", rows[0].Summary)
	}
}

func TestRunNowRecordsHistoryAndPassesAt(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{Instance: "test-1"})
	want := time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
	var got time.Time
	run, err := s.RunNow(context.Background(), funcJob{"once", func(ctx context.Context, now time.Time) (Summary, error) {
		got = now
		if Logger(ctx) == slog.Default() {
			t.Error("the run's context carries no logger")
		}
		return Summary{"pages": 3}, nil
	}}, want)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(want) {
		t.Errorf("job saw now = %v, want %v", got, want)
	}
	rows := runs(t, f.pool, "once")
	if len(rows) != 1 || rows[0].ID != run.ID || rows[0].Status != statusSucceeded || rows[0].Instance != "test-1" ||
		rows[0].Summary["pages"] != float64(3) || !rows[0].ScheduledAt.Equal(want) {
		t.Fatalf("history = %+v", rows)
	}
	line := f.tap.waitFor(t, "run finished")
	if attr(line, "run_id").Int64() != run.ID || attr(line, "job").String() != "once" {
		t.Errorf("finish line lacks job/run_id: %v", line)
	}
	if testutil.ToFloat64(f.metrics.lastSuccess.WithLabelValues("once")) == 0 {
		t.Error("last success not set")
	}
}

func TestRunNowRefusesWhileAnotherProcessHoldsTheLock(t *testing.T) {
	f := newFixture(t)
	held, err := tryLock(context.Background(), f.pool, "busy")
	if err != nil || held == nil {
		t.Fatalf("lock: %v %v", held, err)
	}
	defer held.release(context.Background())
	s := f.scheduler(Options{})
	ran := false
	_, err = s.RunNow(context.Background(), funcJob{"busy", func(context.Context, time.Time) (Summary, error) {
		ran = true
		return nil, nil
	}}, time.Now())
	if !errors.Is(err, ErrLocked) || ran {
		t.Fatalf("err = %v, ran = %v", err, ran)
	}
}

func TestAbandonedRunsAreClosedAndOldRowsPruned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.pool.Exec(ctx, `
		insert into job_runs (job, started_at, status, instance) values ('j', now() - interval '1 hour', 'running', 'dead');
		insert into job_runs (job, started_at, finished_at, status, instance) values ('j', now() - interval '31 days', now() - interval '31 days', 'succeeded', 'old');
		insert into job_runs (job, started_at, finished_at, status, instance) values ('j', now() - interval '29 days', now() - interval '29 days', 'succeeded', 'recent')`)
	if err != nil {
		t.Fatal(err)
	}
	s := f.scheduler(Options{})
	if _, err := s.RunNow(ctx, funcJob{"j", func(context.Context, time.Time) (Summary, error) { return nil, nil }}, time.Now()); err != nil {
		t.Fatal(err)
	}
	var instances []string
	for _, r := range runs(t, f.pool, "j") {
		instances = append(instances, r.Instance+":"+r.Status)
		if r.Instance == "dead" && (r.Error == nil || !strings.Contains(*r.Error, "abandoned")) {
			t.Errorf("abandoned row error = %v", r.Error)
		}
	}
	if len(instances) != 3 || instances[0] != "dead:failed" || instances[1] != "recent:succeeded" {
		t.Fatalf("rows = %v, want the dead run failed, the 31-day-old one pruned", instances)
	}
}

// Two replicas on one database: every firing runs exactly once, however quick the job.
func TestTwoSchedulersRunEachFiringOnce(t *testing.T) {
	f := newFixture(t)
	url := f.pool.Config().ConnString()
	other, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	var mu sync.Mutex
	firings := map[time.Time]int{}
	enough := make(chan struct{})
	var closeOnce sync.Once
	job := func(ctx context.Context, now time.Time) (Summary, error) {
		mu.Lock()
		defer mu.Unlock()
		// A scheduled run's now is its firing time, the same on every replica, to the nanosecond.
		if now.Nanosecond() != 0 {
			t.Errorf("job's now %v is not the firing time", now)
		}
		firings[now]++
		if len(firings) == 3 {
			closeOnce.Do(func() { close(enough) })
		}
		return nil, nil
	}
	a := f.scheduler(Options{Instance: "a"})
	b := New(other, Options{Instance: "b", Logger: slog.New(f.tap), Metrics: NewMetrics(prometheus.NewRegistry())})
	for _, s := range []*Scheduler{a, b} {
		if err := s.Add(everySecond(t), funcJob{"shared", job}); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	<-enough
	shutdown(a, 30*time.Second)
	shutdown(b, 30*time.Second)

	mu.Lock()
	defer mu.Unlock()
	for at, n := range firings {
		if n != 1 {
			t.Errorf("firing at %v ran %d times", at, n)
		}
	}
	seen := map[time.Time]bool{}
	for _, r := range runs(t, f.pool, "shared") {
		if r.Status != statusSucceeded {
			continue
		}
		if seen[*r.ScheduledAt] {
			t.Errorf("firing %v has two history rows", r.ScheduledAt)
		}
		if !hasFiring(firings, *r.ScheduledAt) {
			t.Errorf("history row for %v, but no job ran with that now", r.ScheduledAt)
		}
		seen[*r.ScheduledAt] = true
	}
	if len(seen) < 3 {
		t.Errorf("history holds %d firings, want >= 3", len(seen))
	}
}

func TestShutdownDrains(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	started := make(chan string, 10)
	release := make(chan struct{})
	var patientOnce, stubbornOnce sync.Once
	s.Add(everySecond(t), funcJob{"patient", func(ctx context.Context, _ time.Time) (Summary, error) {
		patientOnce.Do(func() { started <- "patient" })
		<-release
		return Summary{"finished": true}, nil
	}})
	s.Add(everySecond(t), funcJob{"stubborn", func(ctx context.Context, _ time.Time) (Summary, error) {
		stubbornOnce.Do(func() { started <- "stubborn" })
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	s.Start()
	<-started
	<-started
	if !s.Running() {
		t.Fatal("Running() = false while started")
	}

	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { s.Shutdown(ctx); close(done) }()
	f.tap.waitFor(t, "draining")
	if s.Running() {
		t.Error("Running() = true while draining")
	}
	close(release) // the patient job finishes inside the grace period
	f.tap.waitFor(t, "run finished")
	cancel() // the grace period ends: the stubborn job is cancelled
	<-done

	p := runs(t, f.pool, "patient")
	if len(p) != 1 || p[0].Status != statusSucceeded {
		t.Errorf("patient history = %+v", p)
	}
	st := runs(t, f.pool, "stubborn")
	if len(st) != 1 || st[0].Status != statusFailed || !strings.Contains(*st[0].Error, "interrupted") {
		t.Errorf("stubborn history = %+v", st)
	}
}

func TestAddRejectsDuplicatesAndLateJobs(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	j := funcJob{"x", func(context.Context, time.Time) (Summary, error) { return nil, nil }}
	if err := s.Add(everySecond(t), j); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(everySecond(t), j); err == nil {
		t.Error("duplicate name accepted")
	}
	s.Start()
	defer shutdown(s, time.Second)
	if err := s.Add(everySecond(t), funcJob{"y", j.run}); err == nil {
		t.Error("Add after Start accepted")
	}
	if e := s.Entries(); len(e) != 1 || e[0].Job != "x" || e[0].Next.IsZero() {
		t.Errorf("Entries = %+v", e)
	}
}

// robfig's Entry.Job.Run() would bypass the chain; a manual run goes through execute instead, so
// it has the same panic recovery, lock and history as a scheduled one.
func TestRunNowRecoversPanics(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	run, err := s.RunNow(context.Background(), funcJob{"manual-boom", func(context.Context, time.Time) (Summary, error) {
		panic("manual kaboom")
	}}, time.Now())
	var p *panicError
	if !errors.As(err, &p) || run.Status != statusFailed {
		t.Fatalf("err = %v, status %q", err, run.Status)
	}
	rows := runs(t, f.pool, "manual-boom")
	if len(rows) != 1 || rows[0].Status != statusFailed || *rows[0].Error != "panic: manual kaboom" {
		t.Fatalf("history = %+v", rows)
	}
}

func hasFiring(firings map[time.Time]int, at time.Time) bool {
	for f := range firings {
		if f.Equal(at) {
			return true
		}
	}
	return false
}

// A panic that escapes the job's own recovery (a bug in the scheduler's bookkeeping, say) is
// caught by the chain and does not leave the job marked as running: the next firing runs.
func TestChainRecoversAndReleasesTheJob(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	e := &entry{job: funcJob{name: "raw"}, busy: make(chan struct{}, 1)}
	calls := 0
	j := s.chain(e).Then(cron.FuncJob(func() {
		calls++
		if calls == 1 {
			panic("escaped")
		}
	}))
	j.Run() // a panic escaping here would fail the test
	j.Run()
	if calls != 2 {
		t.Fatalf("the job ran %d times after a panic, want 2", calls)
	}
	f.tap.waitFor(t, "cron: panic")
}
