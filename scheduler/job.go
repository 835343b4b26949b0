package scheduler

import (
	"context"
	"log/slog"
	"time"
)

// Job is a unit of work the scheduler runs on a cron spec. Run receives the run's context, which
// carries the run's deadline (JOB_TIMEOUT) and logger (see Logger), and the run's now: a
// scheduled run's firing time, a manual run's chosen instant. A job reads the clock only through
// now, so tests drive time, and every replica of a firing sees the same instant.
//
// A job must be idempotent: after a crash, a timeout or a replica's late duplicate, running it
// again must neither lose nor repeat work.
type Job interface {
	Name() string
	Run(ctx context.Context, now time.Time) (Summary, error)
}

// Summary is what a run reports: a flat object of counters and short facts, stored as JSON in
// job_runs.summary and logged with the run's last line. A run that fails may still return the
// summary of the work it finished.
type Summary map[string]any

// Idler is implemented by a job that can tell, from its summary, a run that found nothing to do
// from one that did work. The scheduler logs an idle run's outcome at debug, so an idle replica is
// quiet at info. A job that does not implement it is idle when every number in its summary is
// zero.
type Idler interface {
	Idle(Summary) bool
}

// idle reports whether a run of job with summary s did nothing.
func idle(job Job, s Summary) bool {
	if i, ok := job.(Idler); ok {
		return i.Idle(s)
	}
	for _, v := range s {
		switch n := v.(type) {
		case int:
			if n != 0 {
				return false
			}
		case int64:
			if n != 0 {
				return false
			}
		case float64:
			if n != 0 {
				return false
			}
		case bool:
			if n {
				return false
			}
		}
	}
	return true
}

type loggerKey struct{}

// WithLogger returns a context carrying logger, for Logger to find.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// Logger returns the logger of the run ctx belongs to: it carries the job and run_id attributes,
// so every line a job writes can be traced to its run. Outside a run it is slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
