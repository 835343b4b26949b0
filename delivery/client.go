package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/opsworker/opsworker/redact"
)

// ClientOptions configure the River client.
type ClientOptions struct {
	// Workers is how many deliveries this process attempts at once (DELIVERY_WORKERS); 0 makes
	// an insert-only client, which queues deliveries but works none.
	Workers int
	// Worker works the jobs; required when Workers > 0.
	Worker *Worker
	// MaxAttempts is a job's attempts before River discards it (DELIVERY_MAX_ATTEMPTS); the
	// worker fails the delivery for good at its last attempt first.
	MaxAttempts int
	// Timeout is one attempt's send deadline (DELIVERY_TIMEOUT).
	Timeout time.Duration
	// Retention is how long River keeps finished jobs; RetentionWorker prunes finished
	// deliveries (hourly, on the leader), when the client works the queue.
	Retention       RetentionOptions
	RetentionWorker *RetentionWorker
	// StopTimeout is how long a stop lets running attempts finish before cancelling their
	// contexts (River's SoftStopTimeout); zero: they are waited for.
	StopTimeout time.Duration
	// RescueAfter is how long a job may stay running before another client takes it back (its
	// process died mid-attempt); default 15 s past the job's timeout. River's rescuer looks every
	// 30 s, so such a delivery is retried within about a minute.
	RescueAfter time.Duration
	Logger      *slog.Logger
}

// ConnsNeeded is how many pool connections a client with workers holds at most: River's
// listener, fetcher, completer and maintenance, and one per two concurrent attempts (an attempt
// holds a connection only to read its delivery and to record the outcome, not while it sends).
func ConnsNeeded(workers int) int {
	if workers == 0 {
		return 0
	}
	return 4 + (workers+1)/2
}

// NewClient returns the River client of the delivery queue on pool. Start it to work jobs.
//
// Fetching sets the throughput and the latency of a page (River fetches at most every
// FetchCooldown, and otherwise when a job is inserted, through LISTEN/NOTIFY, or every
// FetchPollInterval): 5 ms and 50 ms keep a page's delivery well under a second, and a retry due
// in 5 s on time. Nothing signals a snoozed job that comes due (a destination at its limit, see
// lanes.go), so the poll is what picks it up: 50 ms keeps that wait short, at twenty cheap
// index scans a second.
func NewClient(pool *pgxpool.Pool, o ClientOptions) (*river.Client[pgx.Tx], error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	cfg := &river.Config{
		// River quotes job errors in its lines: every line passes through redaction.
		Logger:      slog.New(quieter{redact.Handler(o.Logger.Handler())}).With("component", "river"),
		MaxAttempts: o.MaxAttempts,
		JobTimeout:  o.Timeout + 5*time.Second,
		// A stop lets running attempts finish, then cancels them (River's soft stop).
		SoftStopTimeout: o.StopTimeout,
	}
	if o.Workers > 0 {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, o.Worker); err != nil {
			return nil, err
		}
		if o.RetentionWorker != nil {
			if err := river.AddWorkerSafely(workers, o.RetentionWorker); err != nil {
				return nil, err
			}
			cfg.PeriodicJobs = []*river.PeriodicJob{RetentionJob()}
		}
		o.Retention.WithDefaults().Apply(cfg)
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{Queue: {MaxWorkers: o.Workers}}
		cfg.FetchCooldown = 5 * time.Millisecond
		cfg.FetchPollInterval = 50 * time.Millisecond
		cfg.RescueStuckJobsAfter = o.RescueAfter
		if cfg.RescueStuckJobsAfter <= cfg.JobTimeout {
			cfg.RescueStuckJobsAfter = cfg.JobTimeout + 15*time.Second
		}
	}
	return river.NewClient(riverpgxv5.New(pool), cfg)
}

// quieter logs River's info lines (its start, stop and periodic job counts) at debug: an idle
// replica is quiet at info. Warnings and errors pass as they are.
type quieter struct{ h slog.Handler }

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool { return q.h.Enabled(ctx, demote(l)) }

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return q.h.Handle(ctx, r)
}

func (q quieter) WithAttrs(as []slog.Attr) slog.Handler { return quieter{q.h.WithAttrs(as)} }
func (q quieter) WithGroup(name string) slog.Handler    { return quieter{q.h.WithGroup(name)} }

func demote(l slog.Level) slog.Level {
	if l == slog.LevelInfo {
		return slog.LevelDebug
	}
	return l
}
