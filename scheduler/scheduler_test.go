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
	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/robfig/cron/v3"

	"github.com/opsworker/opsworker/dbtest"
)

// logTap is a slog handler that keeps every record for the test, so tests wait on what the
// scheduler says instead of sleeping.
type logTap struct {
	attrs []slog.Attr
	*tapped
}

// tapped is what a logTap and the handlers derived from it keep.
type tapped struct {
	mu      sync.Mutex
	records []slog.Record
	taken   []bool        // records a waitFor has returned
	added   chan struct{} // closed and replaced when a record comes
}

func newLogTap() *logTap { return &logTap{tapped: &tapped{added: make(chan struct{})}} }

func (h *logTap) Enabled(context.Context, slog.Level) bool { return true }
func (h *logTap) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	h.taken = append(h.taken, false)
	close(h.added)
	h.added = make(chan struct{})
	return nil
}
func (h *logTap) WithAttrs(as []slog.Attr) slog.Handler {
	return &logTap{attrs: append(append([]slog.Attr{}, h.attrs...), as...), tapped: h.tapped}
}
func (h *logTap) WithGroup(string) slog.Handler { return h }

// waitFor returns the oldest record not returned before whose message starts with one of
// prefixes, waiting for it if need be. Records it passes over stay for later calls, so the order
// of two lines from different goroutines does not matter.
func (h *logTap) waitFor(t *testing.T, prefixes ...string) slog.Record {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		for i, r := range h.records {
			if h.taken[i] {
				continue
			}
			for _, p := range prefixes {
				if strings.HasPrefix(r.Message, p) {
					h.taken[i] = true
					h.mu.Unlock()
					return r
				}
			}
		}
		added := h.added
		h.mu.Unlock()
		select {
		case <-added:
		case <-timeout:
			t.Fatalf("no log line %q within 30s", prefixes)
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
	// clock is the schedulers' clock: the test moves time. It starts on a whole second near the
	// wall clock's, so rows stamped with it sit among the database's now() (pruning, staleness).
	clock *clockwork.FakeClock
}

func newFixture(t *testing.T) fixture {
	reg := prometheus.NewRegistry()
	return fixture{pool: dbtest.New(t), tap: newLogTap(), reg: reg, metrics: NewMetrics(reg),
		clock: clockwork.NewFakeClockAt(time.Now().Truncate(time.Second))}
}

// scheduler returns a scheduler on f's database, logging to f's tap, on f's clock unless opts
// names another.
func (f fixture) scheduler(opts Options) *Scheduler {
	opts.Logger = slog.New(f.tap)
	if opts.Metrics == nil {
		opts.Metrics = f.metrics
	}
	if opts.Clock == nil {
		opts.Clock = f.clock
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

// tick moves the clock to the next firing of the fixture's `@every 1s` jobs, and waits until each
// of n firing loops has fired and set its timer for the one after (its "cron: run" line).
func (f fixture) tick(t *testing.T, n int) {
	t.Helper()
	f.clock.Advance(time.Second)
	for range n {
		f.tap.waitFor(t, "cron: run")
	}
}

// settle waits until s's firings in progress have ended, bookkeeping and all: the next firing the
// test brings on then finds the job idle, not still running.
func settle(s *Scheduler) { s.firings.Wait() }

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
	f.tick(t, 1)
	<-started
	f.tick(t, 1) // the next firing, while the first run still runs
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
	f.tick(t, 1)
	failed := f.tap.waitFor(t, "run failed")
	if !strings.Contains(attr(failed, "stack").String(), "scheduler_test.go") {
		t.Errorf("panic line has no stack: %v", failed)
	}
	settle(s)
	f.tick(t, 1)
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
	started := make(chan struct{})
	type result struct {
		run Run
		err error
	}
	ended := make(chan result)
	go func() {
		run, err := s.RunNow(context.Background(), funcJob{"stuck", func(ctx context.Context, _ time.Time) (Summary, error) {
			close(started)
			<-ctx.Done()
			return Summary{"done": 0}, ctx.Err()
		}}, f.clock.Now())
		ended <- result{run, err}
	}()
	<-started
	f.clock.Advance(time.Second) // the deadline passes on the scheduler's clock
	r := <-ended
	if !errors.Is(r.err, context.DeadlineExceeded) || !errors.Is(r.err, errDeadline) {
		t.Fatalf("err = %v", r.err)
	}
	rows := runs(t, f.pool, "stuck")
	if len(rows) != 1 || rows[0].ID != r.run.ID || rows[0].Status != statusFailed || !strings.Contains(*rows[0].Error, "JOB_TIMEOUT") {
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
	ran := make(chan struct{}, 10)
	job := func(ctx context.Context, now time.Time) (Summary, error) {
		mu.Lock()
		defer mu.Unlock()
		// A scheduled run's now is its firing time, the same on every replica, to the nanosecond.
		if now.Nanosecond() != 0 {
			t.Errorf("job's now %v is not the firing time", now)
		}
		firings[now]++
		ran <- struct{}{}
		return nil, nil
	}
	a := f.scheduler(Options{Instance: "a"})
	b := New(other, Options{Instance: "b", Logger: slog.New(f.tap), Metrics: NewMetrics(prometheus.NewRegistry()), Clock: f.clock})
	for _, s := range []*Scheduler{a, b} {
		if err := s.Add(everySecond(t), funcJob{"shared", job}); err != nil {
			t.Fatal(err)
		}
		s.Start()
	}
	for range 3 { // three firings, each heard by both replicas: one runs it, the other skips it
		f.tick(t, 2)
		<-ran
		f.tap.waitFor(t, "firing skipped: another replica")
		settle(a)
		settle(b)
	}
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
	f.tick(t, 2)
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
	j := s.chain(e, f.clock.Now()).Then(cron.FuncJob(func() {
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
	if line := f.tap.waitFor(t, "cron: panic"); attr(line, "job").String() != "raw" {
		t.Errorf("the panic line does not name the job: %v", line)
	}
}

// SHUTDOWN_TIMEOUT is measured on the scheduler's clock: once it has passed, the running job is
// cancelled and recorded as interrupted, though Shutdown's own context never ends.
func TestShutdownTimeoutOnTheClock(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{ShutdownTimeout: 30 * time.Second})
	started := make(chan struct{})
	s.Add(everySecond(t), funcJob{"stubborn", func(ctx context.Context, _ time.Time) (Summary, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	s.Start()
	f.tick(t, 1)
	<-started
	done := make(chan struct{})
	go func() { s.Shutdown(context.Background()); close(done) }()
	f.tap.waitFor(t, "draining")
	select {
	case <-done:
		t.Fatal("Shutdown returned before its timeout with a job running")
	default:
	}
	f.clock.Advance(30 * time.Second) // the drain's timer is set before its line

	f.tap.waitFor(t, "shutdown timeout passed")
	<-done
	st := runs(t, f.pool, "stubborn")
	if len(st) != 1 || st[0].Status != statusFailed || !strings.Contains(*st[0].Error, "SHUTDOWN_TIMEOUT") {
		t.Errorf("stubborn history = %+v", st)
	}
}

// A loop that wakes late (a suspended machine) runs the latest firing due, once, with that
// firing's time as now, and counts the ones it slept through as missed; Entries shows the next.
func TestLateWakeRunsTheLatestFiringOnce(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	nows := make(chan time.Time, 10)
	s.Add(everySecond(t), funcJob{"sleeper", func(_ context.Context, now time.Time) (Summary, error) {
		nows <- now
		return nil, nil
	}})
	s.Start()
	defer shutdown(s, 5*time.Second)
	start := f.clock.Now()
	if e := s.Entries(); len(e) != 1 || !e[0].Next.Equal(start.Add(time.Second)) {
		t.Fatalf("Entries before the first firing = %+v", e)
	}
	f.clock.Advance(5 * time.Second) // five firings due at once
	late := f.tap.waitFor(t, "firings missed")
	if attr(late, "missed").Int64() != 4 || attr(late, "job").String() != "sleeper" {
		t.Errorf("late line: %v", late)
	}
	f.tap.waitFor(t, "cron: run")
	if now := <-nows; !now.Equal(start.Add(5 * time.Second)) {
		t.Errorf("the late firing ran with now = %v, want the latest due, %v", now, start.Add(5*time.Second))
	}
	settle(s)
	select {
	case now := <-nows:
		t.Fatalf("a second run (now %v) for the firings slept through", now)
	default:
	}
	if e := s.Entries(); !e[0].Next.Equal(start.Add(6 * time.Second)) {
		t.Errorf("Entries after the late firing = %+v", e)
	}
	if n := testutil.ToFloat64(f.metrics.missed.WithLabelValues("sleeper")); n != 4 {
		t.Errorf("opsworker_job_missed_total = %v, want 4", n)
	}
}
