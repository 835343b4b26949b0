package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
)

// Reasons a firing does not run.
const (
	skipOverlap = "overlap"
	skipReplica = "replica"
)

// ErrLocked is returned by RunNow when another process holds the job's lock: a replica, or a
// manual run, is running the job at this moment.
var ErrLocked = errors.New("another process is running this job (its advisory lock is held)")

// Causes of a run's context ending, recorded in job_runs.error.
var (
	errDeadline = errors.New("run deadline (JOB_TIMEOUT) exceeded")
	errShutdown = errors.New("interrupted: shutdown timeout (SHUTDOWN_TIMEOUT) passed")
)

// Options configure a Scheduler. The zero value of every field has a sensible default.
type Options struct {
	// Instance names this process in job_runs; default host name and process id.
	Instance string
	// Timeout is the deadline of one run (JOB_TIMEOUT); default 5 minutes.
	Timeout time.Duration
	// Retention is how long job_runs rows are kept; default 30 days.
	Retention time.Duration
	// Logger receives the scheduler's and robfig/cron's lines; default slog.Default().
	Logger *slog.Logger
	// Metrics receives the scheduler's series; default: registered on a private registry.
	Metrics *Metrics
	// Now is the clock; default time.Now. It stamps runs' start and finish; a job's now is its
	// firing time (see execute).
	Now func() time.Time
}

// Run is the record of one run, as stored in job_runs.
type Run struct {
	ID          int64
	Job         string
	ScheduledAt time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Status      string
	Error       string // why the run failed or was skipped; empty when it succeeded
	Summary     Summary
}

// Entry describes a scheduled job.
type Entry struct {
	Job  string
	Spec Spec
	// Next is the next firing; zero before Start.
	Next time.Time
}

// Scheduler runs jobs on their specs. Create it with New, add jobs, Start it, and Shutdown it.
type Scheduler struct {
	pool    *pgxpool.Pool
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	hist    history
	cron    *cron.Cron

	mu      sync.Mutex
	entries []*entry
	names   sync.Map // cron.EntryID → job name, for robfig's log lines

	base    context.Context // parent of every scheduled run; cancelled when the drain times out
	cancel  context.CancelCauseFunc
	running atomic.Int64
	state   atomic.Int32 // 0 new, 1 started, 2 stopped
}

type entry struct {
	job  Job
	spec Spec
	id   cron.EntryID
	busy chan struct{} // holds a token while a run of the job is in progress here
}

// New returns a Scheduler that keeps its history and locks in pool's database.
func New(pool *pgxpool.Pool, opts Options) *Scheduler {
	if opts.Instance == "" {
		host, _ := os.Hostname()
		opts.Instance = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Retention <= 0 {
		opts.Retention = 30 * 24 * time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	base, cancel := context.WithCancelCause(context.Background())
	s := &Scheduler{
		pool:    pool,
		opts:    opts,
		log:     opts.Logger,
		metrics: opts.Metrics,
		hist:    history{instance: opts.Instance, retention: opts.Retention},
		base:    base, cancel: cancel,
	}
	// Specs carry their own zone (Spec.Next), so the engine's location only shapes its logs.
	s.cron = cron.New(cron.WithLocation(time.UTC), cron.WithLogger(s.cronLogger()))
	return s
}

// cronLogger is robfig's logger, naming jobs rather than entry ids.
func (s *Scheduler) cronLogger() cronLogger {
	// Not under s.mu: robfig logs from its own goroutine, which Entries waits on while holding it.
	return cronLogger{l: s.log, jobName: func(id cron.EntryID) (string, bool) {
		name, ok := s.names.Load(id)
		if !ok {
			return "", false
		}
		return name.(string), true
	}}
}

// Add schedules job on spec. Names must be unique; jobs are added before Start.
func (s *Scheduler) Add(spec Spec, job Job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() != 0 {
		return fmt.Errorf("add %s: the scheduler has already started", job.Name())
	}
	for _, e := range s.entries {
		if e.job.Name() == job.Name() {
			return fmt.Errorf("add %s: a job of that name is already scheduled", job.Name())
		}
	}
	e := &entry{job: job, spec: spec, busy: make(chan struct{}, 1)}
	e.id = s.cron.Schedule(spec, s.chain(e).Then(cron.FuncJob(func() { s.fire(e) })))
	s.names.Store(e.id, job.Name())
	s.metrics.register(job.Name())
	s.entries = append(s.entries, e)
	return nil
}

// Start begins firing jobs. It returns at once.
func (s *Scheduler) Start() {
	if s.state.CompareAndSwap(0, 1) {
		s.cron.Start()
	}
}

// Running reports whether the scheduler has started and not begun to shut down.
func (s *Scheduler) Running() bool { return s.state.Load() == 1 }

// Entries lists the scheduled jobs with their next firing.
func (s *Scheduler) Entries() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, Entry{Job: e.job.Name(), Spec: e.spec, Next: s.cron.Entry(e.id).Next})
	}
	return out
}

// Shutdown stops firing and waits for running jobs to finish. If ctx ends first, it cancels the
// running jobs' contexts and waits for them to return; their runs are recorded as failed. It is
// the SIGTERM path: robfig's Stop neither waits nor cancels.
func (s *Scheduler) Shutdown(ctx context.Context) {
	s.state.Store(2)
	done := s.cron.Stop()
	n := s.running.Load()
	s.log.Info("draining: no new runs start", "running_jobs", n)
	select {
	case <-done.Done():
	case <-ctx.Done():
		s.log.Warn("shutdown timeout passed: cancelling running jobs", "running_jobs", s.running.Load())
		s.cancel(errShutdown)
		<-done.Done()
	}
	s.cancel(context.Canceled)
	s.log.Info("drained: all runs finished")
}

// RunNow runs job once, now, through the same lock, deadline, history and metrics as a scheduled
// firing; `opsworker run` uses it. at is the instant passed to the job (and recorded as the
// run's scheduled time). It returns ErrLocked if the job is running elsewhere.
func (s *Scheduler) RunNow(ctx context.Context, job Job, at time.Time) (Run, error) {
	return s.execute(ctx, job, at, at, false)
}

// chain wraps a job's firings: skip-if-running outermost, panic recovery inside it, so a panic
// cannot leave the job marked as running (robfig's own SkipIfStillRunning returns its token
// without defer, so a Recover outside it blocks the job for good). fire recovers and records a
// job's panics itself; cron.Recover is the backstop for a panic in the scheduler's bookkeeping.
func (s *Scheduler) chain(e *entry) cron.Chain {
	return cron.NewChain(s.skipIfStillRunning(e), cron.Recover(s.cronLogger()))
}

// skipIfStillRunning drops a firing while the previous run of the same job is still running in
// this process, and records the skip.
func (s *Scheduler) skipIfStillRunning(e *entry) cron.JobWrapper {
	return func(j cron.Job) cron.Job {
		return cron.FuncJob(func() {
			select {
			case e.busy <- struct{}{}:
				defer func() { <-e.busy }()
				j.Run()
			default:
				s.skipOverlapping(e)
			}
		})
	}
}

func (s *Scheduler) skipOverlapping(e *entry) {
	name := e.job.Name()
	s.metrics.skipped.WithLabelValues(name, skipOverlap).Inc()
	at := s.opts.Now()
	scheduled := s.cron.Entry(e.id).Prev
	ctx, cancel := context.WithTimeout(s.base, 10*time.Second)
	defer cancel()
	id, err := s.hist.skipped(ctx, s.pool, name, scheduled, at, "skipped: the previous run is still running")
	if err != nil {
		s.log.Error("firing skipped: the previous run is still running; recording it failed", "job", name, "scheduled_at", scheduled, "error", err)
		return
	}
	s.log.Warn("firing skipped: the previous run is still running", "job", name, "run_id", id, "scheduled_at", scheduled)
}

// fire is what robfig/cron calls at each firing.
func (s *Scheduler) fire(e *entry) {
	scheduled := s.cron.Entry(e.id).Prev
	_, _ = s.execute(s.base, e.job, scheduled, scheduled, true) // execute logs and records its outcome
}

// execute is one run: lock, history row, deadline, the job, outcome. at is the job's now. A
// scheduled firing (once) runs once across replicas, and its now is the firing's scheduled time,
// not the clock: every replica then sees the same instant, and work a run schedules for "now +
// delay" is due exactly at a later firing instead of missing it by the milliseconds the lock and
// the connection took (which would stretch a one-minute escalation delay to two minutes).
func (s *Scheduler) execute(parent context.Context, job Job, scheduledAt, at time.Time, once bool) (Run, error) {
	name := job.Name()
	log := s.log.With("job", name)
	run := Run{Job: name, ScheduledAt: scheduledAt}
	lock, err := tryLock(parent, s.pool, name)
	if err != nil {
		s.metrics.runs.WithLabelValues(name, statusFailed).Inc()
		log.Error("run not started: cannot take the job lock", "error", err)
		return run, err
	}
	if lock == nil {
		s.metrics.skipped.WithLabelValues(name, skipReplica).Inc()
		log.Debug("firing skipped: another replica is running it")
		run.Status, run.Error = statusSkipped, ErrLocked.Error()
		return run, ErrLocked
	}
	// Bookkeeping after the job must happen even when the run's context is cancelled.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(parent), 10*time.Second)
	}
	defer func() {
		ctx, cancel := after()
		defer cancel()
		lock.release(ctx)
	}()

	run.StartedAt = s.opts.Now()
	now := at
	if now.IsZero() { // robfig sets Prev before every firing; the clock is only a guard
		now = run.StartedAt
	}
	run.ID, err = s.hist.begin(parent, lock.conn, name, scheduledAt, run.StartedAt, once)
	if errors.Is(err, errAlreadyRun) {
		s.metrics.skipped.WithLabelValues(name, skipReplica).Inc()
		log.Debug("firing skipped: another replica has already run it", "scheduled_at", scheduledAt)
		run.Status, run.Error = statusSkipped, errAlreadyRun.Error()
		return run, ErrLocked
	}
	if err != nil {
		s.metrics.runs.WithLabelValues(name, statusFailed).Inc()
		log.Error("run not started: cannot record it", "error", err)
		return run, err
	}
	log = log.With("run_id", run.ID)
	ctx, cancel := context.WithTimeoutCause(parent, s.opts.Timeout, errDeadline)
	defer cancel()
	ctx = WithLogger(ctx, log)

	log.Debug("run started", "scheduled_at", scheduledAt, "now", now)
	s.running.Add(1)
	s.metrics.running.WithLabelValues(name).Inc()
	summary, runErr := safeRun(ctx, job, now)
	s.metrics.running.WithLabelValues(name).Dec()
	s.running.Add(-1)
	if runErr != nil && ctx.Err() != nil {
		runErr = fmt.Errorf("%w (%w)", runErr, context.Cause(ctx))
	}
	run.FinishedAt = s.opts.Now()
	run.Summary = summary
	run.Status = statusSucceeded
	if runErr != nil {
		run.Status = statusFailed
		run.Error = runErr.Error()
	}

	bctx, bcancel := after()
	defer bcancel()
	if err := s.hist.finish(bctx, lock.conn, run.ID, run.FinishedAt, run.Status, runErr, summary); err != nil {
		log.Error("cannot record the run's outcome", "error", err)
	}
	took := run.FinishedAt.Sub(run.StartedAt)
	s.metrics.runs.WithLabelValues(name, run.Status).Inc()
	s.metrics.duration.WithLabelValues(name).Observe(took.Seconds())
	attrs := []any{"status", run.Status, "duration_seconds", took.Round(time.Millisecond).Seconds(), summaryAttr(summary)}
	if runErr != nil {
		attrs = append(attrs, "error", runErr)
		var p *panicError
		if errors.As(runErr, &p) {
			attrs = append(attrs, "stack", string(p.stack))
		}
		log.Error("run failed", attrs...)
		return run, runErr
	}
	s.metrics.lastSuccess.WithLabelValues(name).Set(float64(run.FinishedAt.UnixNano()) / 1e9)
	level := slog.LevelInfo
	if idle(job, summary) {
		level = slog.LevelDebug // an idle replica is quiet at info
	}
	log.Log(context.Background(), level, "run finished", attrs...)
	return run, nil
}

// summaryAttr renders a summary as a group with sorted keys: an object in JSON, and
// summary.pages=3 summary.alerts_escalated=2 ... in text.
func summaryAttr(s Summary) slog.Attr {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, s[k])
	}
	return slog.Group("summary", args...)
}

// panicError is a recovered panic of a job, with the stack where it happened.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

// safeRun runs the job, turning a panic into an error so the run is recorded as failed and the
// job keeps its schedule.
func safeRun(ctx context.Context, job Job, now time.Time) (summary Summary, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: debug.Stack()}
		}
	}()
	return job.Run(ctx, now)
}
