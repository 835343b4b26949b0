package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// DefaultBatchSize is the number of alerts claimed per transaction when Options.BatchSize is 0:
// large enough that the per-batch queries are amortised, small enough that a batch holds its
// row locks (which make the API's acknowledge of those alerts wait) for a fraction of a second.
const DefaultBatchSize = 500

// MaxBatchSize bounds Options.BatchSize: a batch holds its alerts' row locks until it commits,
// and a batch this large already holds them for seconds.
const MaxBatchSize = 10000

// defaultStopMargin is how long before the run's deadline no new batch but the first starts. A batch
// takes well under a second; one cut by the deadline rolls back harmlessly, but it is wasted
// work and a failed run. The first batch always starts, so that even a JOB_TIMEOUT shorter than
// the margin makes progress instead of succeeding, every run, at doing nothing.
const defaultStopMargin = 2 * time.Second

// Options configure a Task. The zero value is valid: WithDefaults fills in what is left unset,
// and Validate says what is wrong with the rest.
type Options struct {
	// Registerer receives the task's Prometheus counters; nil: no metrics.
	Registerer prometheus.Registerer
	// BatchSize is the number of alerts escalated per transaction, 1 to MaxBatchSize; 0:
	// DefaultBatchSize.
	BatchSize int
	// Deliveries queues each page's deliveries in the page's transaction; nil: pages are only
	// written to the outbox (tests of escalation alone).
	Deliveries *delivery.Enqueuer
}

// WithDefaults returns o with every unset option at its default.
func (o Options) WithDefaults() Options {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	return o
}

// Validate returns an error naming the first option of o (after WithDefaults) that is out of
// range, or nil.
func (o Options) Validate() error {
	if o.BatchSize < 1 || o.BatchSize > MaxBatchSize {
		return fmt.Errorf("escalation: BatchSize %d: want 1 to %d (0: %d)", o.BatchSize, MaxBatchSize, DefaultBatchSize)
	}
	return nil
}

// Task is the escalation task, a scheduler.Job. It is safe to run from several replicas at once.
type Task struct {
	pool       *pgxpool.Pool
	deliveries *delivery.Enqueuer
	batchSize  int
	stopMargin time.Duration
	metrics    *metrics
}

var _ scheduler.Job = (*Task)(nil)

// New returns the escalation task working on pool, with opts.WithDefaults(). Options that
// Validate rejects are a programming error (configuration is validated before anything starts):
// New panics on them.
func New(pool *pgxpool.Pool, opts Options) *Task {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return &Task{pool: pool, deliveries: opts.Deliveries, batchSize: opts.BatchSize, stopMargin: defaultStopMargin, metrics: newMetrics(opts.Registerer)}
}

// Name is the job's name: "escalation".
func (t *Task) Name() string { return "escalation" }

// Run escalates at now: first the ack timeout pass, then batches of due alerts until none is
// left, ctx is done, or ctx's deadline is near. Each alert moves at most one step: once paged, it
// is due again only at now + the step's delay, or (a step that paged nobody) a microsecond after
// now, never at now. The summary counts committed work only; a batch cut by ctx leaves no trace
// and its alerts are escalated by the next run. A now outside the supported range
// (civil.CheckRange) fails the run before it writes anything: every instant the task writes is
// now or later, and none may leave the range.
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	log := scheduler.Logger(ctx)
	var total counts
	if err := civil.CheckRange(now); err != nil {
		return total.summary(), fmt.Errorf("escalation: now: %w", err)
	}
	// The oldest due alert the run claimed (zero: none was due); the lag gauge is set from it
	// when the run ends, however it ends.
	var oldestDue time.Time
	defer func() { t.metrics.setLag(now, oldestDue) }()

	// A failed ack timeout pass fails the run, but only after the escalations: it must not stop
	// the pages of every other alert.
	acks, ackErr := t.ackTimeoutPass(ctx, now)
	c := countAcks(acks)
	total.add(c)
	t.metrics.add(c)
	logAcks(log, acks)

	// starting ends t.stopMargin before the deadline: no batch but the first starts after it.
	starting := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		starting, cancel = context.WithDeadline(ctx, deadline.Add(-t.stopMargin))
		defer cancel()
	}
	// Every batch escalates at now: a schedule is resolved once per run (see resolveSchedules).
	resolved := resolutions{}
	for batch := 1; ; batch++ {
		if err := ctx.Err(); err != nil {
			return total.summary(), errors.Join(ackErr, fmt.Errorf("escalation: before batch %d: %w", batch, err))
		}
		if batch > 1 && starting.Err() != nil {
			log.Warn("escalation stopped before its deadline; the next run goes on", "batches", total.batches)
			s := total.summary()
			s["stopped_before_deadline"] = true
			return s, ackErr
		}
		outcomes, pages, enq, err := t.runBatch(ctx, now, resolved, &oldestDue)
		if err != nil {
			return total.summary(), errors.Join(ackErr, fmt.Errorf("escalation: batch %d: %w", batch, err))
		}
		if len(outcomes) == 0 {
			break
		}
		c := countBatch(outcomes, pages, enq)
		t.metrics.add(c)
		total.add(c)
		logBatch(log, batch, outcomes, c)
		for _, id := range enq.NoContact {
			log.Warn("page failed at once: its responder has no enabled contact method", "notification_id", id)
		}
		// A short batch means nothing due is left but what other replicas hold.
		if len(outcomes) < t.batchSize {
			break
		}
	}
	return total.summary(), ackErr
}

// ackTimeoutPass runs and commits the ack timeout pass.
func (t *Task) ackTimeoutPass(ctx context.Context, now time.Time) ([]ackEvent, error) {
	var acks []ackEvent
	err := scheduler.BeginFunc(ctx, t.pool, func(tx pgx.Tx) (err error) {
		// The alerts this returns to triggered are a status change followups tells, as the
		// ack timeout's.
		if err := alertchange.Attribute(ctx, tx, vocab.ViaAckTimeout, "", now); err != nil {
			return err
		}
		acks, err = ackTimeouts(ctx, tx, now)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("escalation: %w", err)
	}
	return acks, nil
}

// runBatch claims, decides and writes one batch in one transaction, and returns its outcomes and
// the pages it inserted once committed (none: nothing was due). It resolves only the schedules
// no earlier batch of the run resolved (resolved keeps the run's answers), and the claim sets
// *oldestDue (see claim).
func (t *Task) runBatch(ctx context.Context, now time.Time, resolved resolutions, oldestDue *time.Time) ([]outcome, []insertedPage, delivery.Enqueued, error) {
	var enq delivery.Enqueued
	// Begun through the scheduler: it cannot commit once this run has lost its job lock.
	tx, err := scheduler.Begin(ctx, t.pool)
	if err != nil {
		return nil, nil, enq, fmt.Errorf("begin: %w", err)
	}
	// After a commit this is a no-op; after a failure (a cancelled ctx included) it ends the
	// transaction, so nothing of the batch stays.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	alerts, err := claim(ctx, tx, now, t.batchSize, oldestDue)
	if err != nil || len(alerts) == 0 {
		return nil, nil, enq, err
	}
	decisions, data, err := load(ctx, tx, alerts, now, resolved)
	if err != nil {
		return nil, nil, enq, err
	}
	outcomes := make([]outcome, len(decisions))
	for i, d := range decisions {
		outcomes[i] = plan(d, data, now)
	}
	pages, err := write(ctx, tx, outcomes, now)
	if err != nil {
		return nil, nil, enq, err
	}
	if t.deliveries != nil && len(pages) > 0 {
		ids := make([]int64, len(pages))
		for i, p := range pages {
			ids[i] = p.ID
		}
		if enq, err = t.deliveries.Enqueue(ctx, tx, ids, now); err != nil {
			return nil, nil, enq, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, nil, enq, fmt.Errorf("commit: %w", err)
	}
	return outcomes, pages, enq, nil
}

// logBatch logs a committed batch: a line per escalated alert (info), per problem and per step
// that paged nobody (warn), per exhausted alert (info), and one for the batch (debug).
func logBatch(log *slog.Logger, batch int, outcomes []outcome, c counts) {
	for _, o := range outcomes {
		a := o.Alert
		for _, ev := range o.Events {
			switch ev.Kind {
			case vocab.EventError, vocab.EventBadPolicy, vocab.EventNoPolicy:
				log.Warn("alert escalation problem", "tenant_id", a.TenantID, "alert_id", a.ID, "event", ev.Kind, "details", ev.Details)
			case vocab.EventNoOneOnCall:
				log.Warn("nobody on call", "tenant_id", a.TenantID, "alert_id", a.ID, "schedule_id", ev.Details["schedule_id"])
			case vocab.EventPolicyExhausted:
				log.Info("escalation policy exhausted", "tenant_id", a.TenantID, "alert_id", a.ID, "loop", o.Loop)
			case vocab.EventNobodyPaged:
				log.Warn("escalation step paged nobody; the next step is due at once", "tenant_id", a.TenantID, "alert_id", a.ID,
					"step", *o.Step, "loop", o.Loop, "pass", o.Pass)
			case vocab.EventEscalated:
				args := []any{"tenant_id", a.TenantID, "alert_id", a.ID, "step", *o.Step, "loop", o.Loop, "pass", o.Pass,
					"responder_ids", o.Paged, "schedule_ids", o.ScheduleIDs}
				if r, ok := ev.Details["restart"]; ok {
					args = append(args, "restart", r)
				}
				log.Info("alert escalated", args...)
			}
		}
	}
	log.Debug("escalation batch committed", "batch", batch, "alerts", len(outcomes),
		"alerts_escalated", c.alertsEscalated, "pages", c.pages)
}
