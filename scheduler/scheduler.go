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
	"github.com/jonboulle/clockwork"
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
	errDeadline     error = &timeoutError{"run deadline (JOB_TIMEOUT) exceeded"}
	errShutdown           = errors.New("interrupted: shutdown timeout (SHUTDOWN_TIMEOUT) passed")
	errStartTimeout error = &timeoutError{"the database did not give a connection and the job lock in time"}
	errBookkeeping  error = &timeoutError{"the database did not answer the run history in time"}
)

// ApplicationName is the application_name a scheduler's connections should carry (set it in the
// pool's configuration): the run history reads it to tell whether the process that left a run
// unfinished is still alive. PostgreSQL keeps 63 bytes of it.
func ApplicationName(instance string) string {
	s := "opsworker " + instance
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// DefaultInstance is the instance name of this process: host name and process id.
func DefaultInstance() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d", host, os.Getpid())
}

// Run is the record of one run, as stored in job_runs.
type Run struct {
	ID          int64
	Job         string
	ScheduledAt time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	Trigger     string // TriggerSchedule, TriggerNotify or TriggerManual
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
	clock   clockwork.Clock
	log     *slog.Logger
	metrics *Metrics
	hist    *history
	flushed chan struct{} // closed when the history flusher has stopped

	stop    chan struct{}  // closed by Shutdown: the firing loops stop
	loops   sync.WaitGroup // the firing loops
	firings sync.WaitGroup // firings in progress (each in its own goroutine, as robfig's)
	// soonRuns counts the RunSoon loops; soonStop ends them once they have finished their run.
	soonRuns sync.WaitGroup
	soonDone context.Context
	soonStop context.CancelFunc

	mu      sync.Mutex
	entries []*entry

	base    context.Context // parent of every scheduled run; cancelled when the drain times out
	cancel  context.CancelCauseFunc
	running atomic.Int64
	state   atomic.Int32 // 0 new, 1 started, 2 stopped
}

type entry struct {
	job  Job
	spec Spec
	busy chan struct{} // holds a token while a run of the job is in progress here
	soon chan struct{} // a pending RunSoon request (buffer of one: requests fold)

	mu   sync.Mutex
	next time.Time // the next firing; zero before Start
}

// New returns a Scheduler that keeps its history and locks in pool's database. opts gets its
// defaults (WithDefaults); New panics on options Validate refuses: check them where the
// configuration is read, before anything starts.
func New(pool *pgxpool.Pool, opts Options) *Scheduler {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		panic("scheduler.New: " + err.Error())
	}
	base, cancel := context.WithCancelCause(context.Background())
	s := &Scheduler{
		pool:    pool,
		opts:    opts,
		clock:   opts.Clock,
		log:     opts.Logger,
		metrics: opts.Metrics,
		hist: &history{pool: pool, clock: opts.Clock, instance: opts.Instance, retention: opts.Retention, maxPending: opts.MaxPending,
			outcomeWait: 2 * time.Second},
		stop: make(chan struct{}),
		base: base, cancel: cancel,
	}
	s.soonDone, s.soonStop = context.WithCancel(context.Background())
	return s
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
	s.metrics.register(job.Name())
	s.entries = append(s.entries, &entry{job: job, spec: spec, busy: make(chan struct{}, 1), soon: make(chan struct{}, 1)})
	return nil
}

// Start begins firing jobs, and writing the history rows that wait in memory for the database.
// It returns at once. Each job's first firing is the first of its spec after the clock's now at
// Start.
func (s *Scheduler) Start() {
	if !s.state.CompareAndSwap(0, 1) {
		return
	}
	s.flushed = make(chan struct{})
	go s.flushLoop()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, e := range s.entries {
		// The first firing is read here, not in the loop: a test that advances the clock right
		// after Start gets that firing.
		next := e.spec.Next(now)
		e.setNext(next)
		s.loops.Add(1)
		go s.fireLoop(e, next)
		s.soonRuns.Add(1)
		go s.soonLoop(e)
	}
}

// flushInterval is how often rows waiting in memory are offered to the database.
const flushInterval = 2 * time.Second

// flushLoop writes the history rows kept in memory while the database did not answer, until the
// scheduler is shut down.
func (s *Scheduler) flushLoop() {
	defer close(s.flushed)
	t := s.clock.NewTicker(flushInterval)
	defer t.Stop()
	for {
		select {
		case <-s.base.Done():
			return
		case <-t.Chan():
		}
		s.flush(s.base)
	}
}

// flush writes what waits in memory, within a bound (2 s, or ctx's).
func (s *Scheduler) flush(parent context.Context) {
	if s.hist.waiting() == 0 {
		return
	}
	ctx, cancel := context.WithTimeoutCause(parent, 2*time.Second, errBookkeeping)
	defer cancel()
	written, dropped, err := s.hist.flush(ctx)
	if dropped > 0 {
		s.metrics.historyDropped.Add(float64(dropped))
		s.log.Error("history rows dropped: the database did not answer for too long", "rows", dropped)
	}
	if written > 0 {
		s.log.Info("history rows written late, once the database answered", "rows", written)
	}
	if err != nil {
		s.log.Debug("history rows still waiting for the database", "rows", s.hist.waiting(), "error", err)
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
		out = append(out, Entry{Job: e.job.Name(), Spec: e.spec, Next: e.getNext()})
	}
	return out
}

// shutdownGrace bounds what Shutdown waits for once it has cancelled the running jobs: a job that
// ignores its context, or bookkeeping stuck on a dead network, must not keep the process alive.
const shutdownGrace = 2500 * time.Millisecond

// Shutdown stops firing and waits for running jobs to finish. When ShutdownTimeout has passed or
// ctx ends, whichever comes first, it cancels the running jobs' contexts and waits for them to
// return, at most a few seconds; their runs are recorded as failed. It is the SIGTERM path, and
// returns within ShutdownTimeout plus a few seconds, whatever the database does.
func (s *Scheduler) Shutdown(ctx context.Context) {
	if s.state.Swap(2) == 1 {
		close(s.stop)
	}
	s.soonStop()
	// Runs asked for by RunSoon are not firings: wait for both kinds.
	done := make(chan struct{})
	go func() {
		s.loops.Wait()
		s.firings.Wait()
		s.soonRuns.Wait()
		close(done)
	}()
	timeout := s.clock.NewTimer(s.opts.ShutdownTimeout)
	defer timeout.Stop()
	s.log.Info("draining: no new runs start", "running_jobs", s.running.Load())
	select {
	case <-done:
	case <-ctx.Done():
		s.interrupt(done)
	case <-timeout.Chan():
		s.interrupt(done)
	}
	s.cancel(context.Canceled)
	if s.flushed != nil {
		<-s.flushed
	}
	fctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errBookkeeping)
	defer cancel()
	s.flush(fctx)
	if n := s.hist.waiting(); n > 0 {
		s.log.Error("history rows lost: the database did not answer before the shutdown", "rows", n)
	}
	s.log.Info("drained: all runs finished")
}

// interrupt cancels the running jobs once the drain's time is up, and waits for them (done) for
// shutdownGrace at most.
func (s *Scheduler) interrupt(done <-chan struct{}) {
	s.log.Warn("shutdown timeout passed: cancelling running jobs", "running_jobs", s.running.Load())
	s.cancel(errShutdown)
	// On the real clock: a bound on waiting for something stuck, as the network's are.
	grace := time.NewTimer(shutdownGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		s.log.Error("runs did not return after their cancellation; leaving them", "running_jobs", s.running.Load())
	}
}

// RunNow runs job once, now, through the same lock, deadline, history and metrics as a scheduled
// firing; `opsworker run` uses it. at is the instant passed to the job (and recorded as the
// run's scheduled time). It returns ErrLocked if the job is running elsewhere.
func (s *Scheduler) RunNow(ctx context.Context, job Job, at time.Time) (Run, error) {
	return s.execute(ctx, job, Run{Job: job.Name(), ScheduledAt: at, Trigger: TriggerManual}, at)
}

// execute is one run: lock, history row, deadline, the job, outcome. now is the job's now. A
// cron firing runs once across replicas, and its now is the firing's scheduled time, not the
// clock: every replica then sees the same instant, and work a run schedules for "now + delay" is
// due exactly at a later firing instead of missing it by the milliseconds the lock and the
// connection took (which would stretch a one-minute escalation delay to two minutes).
//
// Every wait is bounded: the run's deadline (Timeout) counts from here, and getting the
// connection and the lock, waiting for an earlier holder's transactions and recording the run
// must fit in StartTimeout. A firing that cannot start is recorded as not started (once the
// database answers) and never runs later with a stale now. While the job runs, a heartbeat on the
// lock connection cancels it if the lock is lost, and its transactions cannot commit without the
// lock (Begin).
func (s *Scheduler) execute(parent context.Context, job Job, run Run, now time.Time) (Run, error) {
	name := run.Job
	log := s.log.With("job", name)
	if now.IsZero() { // firings always carry their time; the clock is only a guard
		now = s.clock.Now()
	}
	runCtx, cancelRun := withTimeout(parent, s.clock, s.opts.Timeout, errDeadline)
	defer cancelRun()
	startCtx, cancelStart := context.WithTimeoutCause(runCtx, s.opts.StartTimeout, errStartTimeout)
	defer cancelStart()

	// Bookkeeping after the job must happen even when the run's context is cancelled, and must
	// not hold up the job's next firing: what it cannot write in time waits in memory.
	after := func(d time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeoutCause(context.WithoutCancel(parent), d, errBookkeeping)
	}

	lock, err := tryLock(startCtx, s.pool, name)
	if err != nil {
		return s.notStarted(parent, log, run, startCtx, err)
	}
	if lock == nil {
		s.metrics.skipped.WithLabelValues(name, skipReplica).Inc()
		log.Debug("firing skipped: another replica is running it")
		run.Status, run.Error = statusSkipped, ErrLocked.Error()
		return run, ErrLocked
	}
	defer func() {
		ctx, cancel := after(time.Second)
		defer cancel()
		lock.release(ctx)
	}()
	if err := lock.drainFence(startCtx); err != nil {
		return s.notStarted(parent, log, run, startCtx, err)
	}
	run.StartedAt = s.clock.Now()
	if run.Trigger == TriggerSchedule && run.StartedAt.Sub(now) > s.opts.StartTimeout {
		return s.notStarted(parent, log, run, startCtx, fmt.Errorf("it is %s late", run.StartedAt.Sub(now).Round(time.Millisecond)))
	}
	run.ID, err = s.hist.begin(startCtx, lock.conn, run)
	if errors.Is(err, errAlreadyRun) {
		s.metrics.skipped.WithLabelValues(name, skipReplica).Inc()
		log.Debug("firing skipped: another replica has already run it", "scheduled_at", run.ScheduledAt)
		run.Status, run.Error = statusSkipped, errAlreadyRun.Error()
		return run, ErrLocked
	}
	if err != nil {
		return s.notStarted(parent, log, run, startCtx, err)
	}
	cancelStart()
	log = log.With("run_id", run.ID)
	jobCtx, cancelJob := context.WithCancelCause(runCtx)
	defer cancelJob(nil)
	stopWatch := lock.watch(s.clock, cancelJob)
	jobCtx = WithLogger(context.WithValue(jobCtx, fenceKey{}, lock.fence), log)

	log.Debug("run started", "scheduled_at", run.ScheduledAt, "now", now, "trigger", run.Trigger)
	s.running.Add(1)
	s.metrics.running.WithLabelValues(name).Inc()
	summary, runErr := safeRun(jobCtx, job, now)
	s.metrics.running.WithLabelValues(name).Dec()
	s.running.Add(-1)
	stopWatch()
	if runErr != nil && jobCtx.Err() != nil {
		runErr = fmt.Errorf("%w (%w)", runErr, context.Cause(jobCtx))
	}
	run.FinishedAt = s.clock.Now()
	run.Summary = summary
	run.Status = statusSucceeded
	if runErr != nil {
		run.Status = statusFailed
		run.Error = runErr.Error()
	}

	bctx, bcancel := after(s.hist.outcomeWait + time.Second)
	defer bcancel()
	if err := s.hist.finish(bctx, run); err != nil {
		log.Error("cannot record the run's outcome", "error", err)
	}
	took := run.FinishedAt.Sub(run.StartedAt)
	s.metrics.runs.WithLabelValues(name, run.Status, run.Trigger).Inc()
	s.metrics.duration.WithLabelValues(name).Observe(took.Seconds())
	attrs := []any{"status", run.Status, "trigger", run.Trigger, "duration_seconds", took.Round(time.Millisecond).Seconds(), summaryAttr(summary)}
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

// notStarted records and logs a firing that could not start: the database did not answer, or not
// in time. A cron firing gets its history row now or, while the database does not answer, once
// it does; a manual run's caller hears the error.
func (s *Scheduler) notStarted(parent context.Context, log *slog.Logger, run Run, startCtx context.Context, err error) (Run, error) {
	if cause := context.Cause(startCtx); cause != nil && startCtx.Err() != nil {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	run.FinishedAt = s.clock.Now()
	run.Status = statusFailed
	run.Error = notStarted + "database unavailable: " + err.Error()
	if parent.Err() != nil {
		run.Error = notStarted + "shutting down: " + context.Cause(parent).Error()
	}
	s.metrics.missed.WithLabelValues(run.Job).Inc()
	if run.Trigger != TriggerManual {
		ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(parent), time.Second, errBookkeeping)
		s.hist.missed(ctx, run)
		cancel()
	}
	log.Error("run not started", "scheduled_at", run.ScheduledAt, "trigger", run.Trigger, "error", err)
	return run, err
}

// summaryAttr renders a summary's non-zero entries as a group with sorted keys: an object in
// JSON, and summary.alerts_escalated=2 summary.pages=3 ... in text.
func summaryAttr(s Summary) slog.Attr {
	keys := make([]string, 0, len(s))
	for k, v := range s {
		// A run's line names what it did: its zero counters are in job_runs.summary, not here.
		if idle(nil, Summary{k: v}) && isNumber(v) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	args := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		args = append(args, k, s[k])
	}
	return slog.Group("summary", args...)
}

// isNumber reports whether v is one of the numbers a summary holds.
func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, float64:
		return true
	}
	return false
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
