package scheduler

import (
	"context"
	"log/slog"
	"time"

	"github.com/robfig/cron/v3"
)

// The scheduler fires jobs itself, on its clock, and uses robfig/cron v3 for what it does well:
// parsing specs (Spec wraps its schedules) and the job wrappers (cron.Chain, cron.Recover).
//
// robfig's own engine, cron.Cron, reads time.Now and sleeps on real timers, with no way to inject
// a clock, so a test of firings had to wait for the wall clock (`@every 1s`, or for the minute
// to turn). Keeping it for production and driving only the firing path in tests would leave the
// path that runs in production untested. Firing by hand is little code — each job has a loop
// that waits on the clock's timer for its next firing (Spec.Next: the DST corrections and the
// clock-aligned @every are Spec's) and starts the firing in a goroutine — and keeps DESIGN's
// semantics:
//   - no overlap: the chain's skipIfStillRunning (outermost) skips, logs, counts and records a
//     firing while the job's previous run still runs here;
//   - recovery: execute turns a job's panic into a failed run; cron.Recover inside the chain is
//     the backstop for the scheduler's own bookkeeping;
//   - the firing time is the run's now, passed from the loop to the firing (robfig's Entry.Prev,
//     read later by the firing's goroutine, could already name the next firing);
//   - robfig's traps go away with its engine: Stop that neither waits nor cancels (Shutdown
//     waits for the loops and the firings), @every counted from process start (Spec aligns it),
//     Entry.Job.Run bypassing the chain (there is no Entry to call).
//
// A loop that wakes late (a suspended machine, a stalled process) fires the latest firing that is
// due, once, like robfig's engine, rather than every firing it slept through: the ones in
// between are logged and counted as missed.

// maxCatchUp bounds the firings a late loop walks through to find the latest one due.
const maxCatchUp = 100000

// fireLoop fires e on its spec, next first, until Shutdown.
func (s *Scheduler) fireLoop(e *entry, next time.Time) {
	defer s.loops.Done()
	name := e.job.Name()
	var fired time.Time
	for !next.IsZero() {
		t := s.clock.NewTimer(s.clock.Until(next))
		if !fired.IsZero() {
			// Logged once the next firing's timer is set: a test that moves its clock on this
			// line gets the next firing.
			s.log.Debug("cron: run", "job", name, "scheduled_at", fired, "next", next)
		}
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.Chan():
		}
		select {
		case <-s.stop: // Shutdown began while the timer fired: no new firing
			return
		default:
		}
		scheduled, missed := next, 0
		now := s.clock.Now()
		for n := e.spec.Next(scheduled); !n.IsZero() && !n.After(now) && missed < maxCatchUp; n = e.spec.Next(n) {
			scheduled = n
			missed++
		}
		if missed > 0 {
			s.metrics.missed.WithLabelValues(name).Add(float64(missed))
			s.log.Warn("firings missed: the scheduler woke late; running the latest one due", "job", name,
				"missed", missed, "scheduled_at", scheduled)
		}
		next, fired = e.spec.Next(scheduled), scheduled
		e.setNext(next)
		s.firings.Add(1)
		go func() {
			defer s.firings.Done()
			s.chain(e, scheduled).Then(cron.FuncJob(func() { s.fire(e, scheduled) })).Run()
		}()
	}
	if !fired.IsZero() {
		s.log.Warn("cron: the spec never fires again", "job", name, "scheduled_at", fired)
	}
}

func (e *entry) setNext(t time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.next = t
}

func (e *entry) getNext() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.next
}

// chain wraps a firing: skip-if-running outermost, panic recovery inside it, so a panic cannot
// leave the job marked as running (robfig's own SkipIfStillRunning returns its token without
// defer, so a Recover outside it blocks the job for good). execute recovers and records a job's
// panics itself; cron.Recover is the backstop for a panic in the scheduler's bookkeeping.
func (s *Scheduler) chain(e *entry, scheduled time.Time) cron.Chain {
	return cron.NewChain(s.skipIfStillRunning(e, scheduled), cron.Recover(cronLogger{s.log.With("job", e.job.Name())}))
}

// skipIfStillRunning drops a firing while the previous run of the same job is still running in
// this process, and records the skip.
func (s *Scheduler) skipIfStillRunning(e *entry, scheduled time.Time) cron.JobWrapper {
	return func(j cron.Job) cron.Job {
		return cron.FuncJob(func() {
			select {
			case e.busy <- struct{}{}:
				defer func() { <-e.busy }()
				j.Run()
			default:
				s.skipOverlapping(e, scheduled)
			}
		})
	}
}

func (s *Scheduler) skipOverlapping(e *entry, scheduled time.Time) {
	name := e.job.Name()
	s.metrics.skipped.WithLabelValues(name, skipOverlap).Inc()
	run := Run{Job: name, ScheduledAt: scheduled, Trigger: TriggerSchedule, FinishedAt: s.clock.Now(),
		Status: statusSkipped, Error: "skipped: the previous run is still running"}
	ctx, cancel := context.WithTimeoutCause(s.base, 5*time.Second, errBookkeeping)
	defer cancel()
	s.hist.missed(ctx, run)
	s.log.Warn("firing skipped: the previous run is still running", "job", name, "scheduled_at", run.ScheduledAt)
}

// fire runs one firing of e.
func (s *Scheduler) fire(e *entry, scheduled time.Time) {
	run := Run{Job: e.job.Name(), ScheduledAt: scheduled, Trigger: TriggerSchedule}
	_, _ = s.execute(s.base, e.job, run, scheduled) // execute logs and records its outcome
}

// cronLogger routes robfig/cron's log lines (cron.Recover's) through slog: info at debug, errors
// at error.
type cronLogger struct{ l *slog.Logger }

func (c cronLogger) Info(msg string, keysAndValues ...any) { c.l.Debug("cron: "+msg, keysAndValues...) }

func (c cronLogger) Error(err error, msg string, keysAndValues ...any) {
	c.l.Error("cron: "+msg, append([]any{"error", err}, keysAndValues...)...)
}
