package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/setting"
	"github.com/opsworker/opsworker/vocab"
)

// Retention of the delivery queue's own history. Every page leaves a deliveries row per contact
// method and a River job per delivery; left alone both tables grow with every page ever sent,
// and with them the disk, the vacuum work and the backups. (The statements that send pages read
// them by key, so their cost does not grow; bench/README.md measures that.)
//
//   - River deletes its finished jobs itself (its job cleaner, in the processes that work the
//     queue): completed and cancelled ones after RetentionOptions.Jobs, discarded ones after
//     seven days or Jobs, whichever is longer (a discarded job's errors explain a failure).
//   - Finished deliveries (sent, failed, cancelled) are deleted RetentionOptions.Deliveries
//     after they were created, by the periodic job RetentionJob (kind "delivery_retention", on
//     the delivery queue, hourly), a chunk at a time. A delivery still pending (or throttled)
//     is never deleted, however old.
//
// A daily report counts the deliveries of its day's pages when it is written, up to
// REPORT_CATCHUP_DAYS after the day: Deliveries must stay longer than that, or a late report
// counts deliveries that are gone (the worker's configuration checks it).

// Defaults of RetentionOptions.
const (
	DefaultDeliveryRetention = 90 * 24 * time.Hour // DELIVERY_RETENTION
	DefaultJobRetention      = 24 * time.Hour      // DELIVERY_JOB_RETENTION, River's own default
	discardedJobRetention    = 7 * 24 * time.Hour  // River's default for discarded jobs
)

// Bounds of RetentionOptions.
const (
	MinDeliveryRetention = 24 * time.Hour
	MaxRetention         = 10 * 366 * 24 * time.Hour
	MinJobRetention      = time.Minute
)

// RetentionOptions are how long the delivery queue's history is kept. The zero value takes the
// defaults.
type RetentionOptions struct {
	// Deliveries is how long a finished delivery is kept after it was created
	// (DELIVERY_RETENTION), from a day to ten years; 0: DefaultDeliveryRetention.
	Deliveries time.Duration
	// Jobs is how long River keeps the queue's completed and cancelled jobs
	// (DELIVERY_JOB_RETENTION), from a minute to ten years; 0: DefaultJobRetention.
	Jobs time.Duration
}

// WithDefaults returns o with every unset option at its default.
func (o RetentionOptions) WithDefaults() RetentionOptions {
	if o.Deliveries == 0 {
		o.Deliveries = DefaultDeliveryRetention
	}
	if o.Jobs == 0 {
		o.Jobs = DefaultJobRetention
	}
	return o
}

// Validate returns an error naming the first option of o (after WithDefaults) that is out of
// range, or nil.
func (o RetentionOptions) Validate() error {
	if o.Deliveries < MinDeliveryRetention || o.Deliveries > MaxRetention {
		return setting.Errorf("DELIVERY_RETENTION", o.Deliveries, "must be a duration from %s to %s, such as 2160h (90 days)", MinDeliveryRetention, MaxRetention)
	}
	if o.Jobs < MinJobRetention || o.Jobs > MaxRetention {
		return setting.Errorf("DELIVERY_JOB_RETENTION", o.Jobs, "must be a duration from %s to %s, such as 24h", MinJobRetention, MaxRetention)
	}
	return nil
}

// Apply sets River's job retention in cfg (the client's configuration).
func (o RetentionOptions) Apply(cfg *river.Config) {
	cfg.CompletedJobRetentionPeriod = o.Jobs
	cfg.CancelledJobRetentionPeriod = o.Jobs
	cfg.DiscardedJobRetentionPeriod = max(o.Jobs, discardedJobRetention)
}

// pruneSQL deletes up to $3 finished deliveries ($2: the finished statuses) created before $1,
// oldest first. It walks the primary key from its start: once the history is pruned, the oldest
// rows are the ones that have just expired, so a prune reads little more than what it deletes
// (no index on created_at, which every page's insert would pay for).
const pruneSQL = `
delete from deliveries d
using (select id from deliveries where created_at < $1 and status = any($2) order by id limit $3) old
where d.id = old.id`

// finishedStatuses are the statuses of deliveries that will not change any more.
var finishedStatuses = []vocab.DeliveryStatus{vocab.DeliverySent, vocab.DeliveryFailed, vocab.DeliveryCancelled}

// Execer runs a statement: *pgxpool.Pool, *pgx.Conn and pgx.Tx satisfy it.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// PruneDeliveries deletes the finished deliveries created more than retention before now, at
// most chunk at a time, until none is left or ctx ends, and returns how many it deleted. Each
// chunk is its own statement (and, on a pool, its own transaction), so a long backlog never
// holds many locks or a long transaction.
func PruneDeliveries(ctx context.Context, db Execer, now time.Time, retention time.Duration, chunk int) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, pruneSQL, now.Add(-retention), finishedStatuses, chunk)
		if err != nil {
			return total, fmt.Errorf("delivery: prune deliveries: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(chunk) {
			return total, nil
		}
	}
}

// RetentionArgs are the arguments of the retention job: none.
type RetentionArgs struct{}

// Kind is the River job kind.
func (RetentionArgs) Kind() string { return "delivery_retention" }

// InsertOpts puts the job on Queue.
func (RetentionArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue} }

// retentionChunk is how many deliveries one statement of the retention job deletes.
const retentionChunk = 5000

// RetentionWorker works the retention job: PruneDeliveries at the clock's now.
type RetentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	db        Execer
	retention time.Duration
	now       func() time.Time
}

// NewRetentionWorker returns the worker of the retention job on db, keeping finished deliveries
// for o.Deliveries (o with its defaults), now being the clock.
func NewRetentionWorker(db Execer, o RetentionOptions, now func() time.Time) *RetentionWorker {
	return &RetentionWorker{db: db, retention: o.WithDefaults().Deliveries, now: now}
}

// Work prunes; a run cut by its timeout has deleted whole chunks, and the next goes on.
func (w *RetentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	_, err := PruneDeliveries(ctx, w.db, w.now(), w.retention, retentionChunk)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	return err
}

// Timeout bounds one run of the job.
func (w *RetentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return 5 * time.Minute }

// RetentionJob is the periodic job that runs the retention worker every hour (and once when a
// process becomes River's leader), for the client's PeriodicJobs; the client must also have
// the worker (river.AddWorker(workers, NewRetentionWorker(...))).
func RetentionJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
		&river.PeriodicJobOpts{ID: "delivery_retention", RunOnStart: true})
}

var _ Execer = pgx.Tx(nil)
