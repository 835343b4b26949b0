package escalation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// DefaultBatchSize is the number of alerts claimed per transaction when Options.BatchSize is 0:
// large enough that the per-batch queries are amortised, small enough that a batch holds its
// row locks (which make the API's acknowledge of those alerts wait) for a fraction of a second.
const DefaultBatchSize = 1000

// MaxBatchSize bounds Options.BatchSize: a batch holds its alerts' row locks until it commits,
// and a batch this large already holds them for seconds.
const MaxBatchSize = 10000

// DefaultWorkers is the number of batches a run keeps in flight at once when Options.Workers is
// 0: one being planned here while the other's statements run in PostgreSQL.
const DefaultWorkers = 2

// MaxWorkers bounds Options.Workers: each worker holds a connection for its batch.
const MaxWorkers = 16

// defaultStopMargin is how long before the run's deadline no new batch but the first starts. A batch
// takes well under a second; one cut by the deadline rolls back harmlessly, but it is wasted
// work and a failed run. The first batch always starts, so that even a JOB_TIMEOUT shorter than
// the margin makes progress instead of succeeding, every run, at doing nothing.
const defaultStopMargin = 2 * time.Second

// commitTimeout bounds a batch's commit, which a cancellation does not cut short (see runBatch):
// well inside the 5 s a process has to exit after its running jobs are cancelled.
const commitTimeout = 2 * time.Second

// Options configure a Task. The zero value is valid: WithDefaults fills in what is left unset,
// and Validate says what is wrong with the rest.
type Options struct {
	// Registerer receives the task's Prometheus counters; nil: no metrics.
	Registerer prometheus.Registerer
	// BatchSize is the number of alerts escalated per transaction, 1 to MaxBatchSize; 0:
	// DefaultBatchSize.
	BatchSize int
	// Workers is the number of batches a run keeps in flight at once, each in its own
	// transaction on its own pool connection, 1 to MaxWorkers; 0: DefaultWorkers. A run holds
	// Workers connections besides the scheduler's lock connection; with fewer free in the pool,
	// the batches wait their turn.
	Workers int
	// Deliveries queues each page's deliveries in the page's transaction; nil: pages are only
	// written to the outbox (tests of escalation alone).
	Deliveries *delivery.Enqueuer
}

// WithDefaults returns o with every unset option at its default.
func (o Options) WithDefaults() Options {
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	return o
}

// Validate returns an error naming the first option of o (after WithDefaults) that is out of
// range, or nil.
func (o Options) Validate() error {
	if o.BatchSize < 1 || o.BatchSize > MaxBatchSize {
		return fmt.Errorf("escalation: BatchSize %d: want 1 to %d (0: %d)", o.BatchSize, MaxBatchSize, DefaultBatchSize)
	}
	if o.Workers < 1 || o.Workers > MaxWorkers {
		return fmt.Errorf("escalation: Workers %d: want 1 to %d (0: %d)", o.Workers, MaxWorkers, DefaultWorkers)
	}
	return nil
}

// Task is the escalation task, a scheduler.Job. It is safe to run from several replicas at once.
type Task struct {
	pool       *pgxpool.Pool
	deliveries *delivery.Enqueuer
	batchSize  int
	workers    int
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
	return &Task{pool: pool, deliveries: opts.Deliveries, batchSize: opts.BatchSize, workers: opts.Workers,
		stopMargin: defaultStopMargin, metrics: newMetrics(opts.Registerer)}
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
//
// Options.Workers batches are in flight at once, each in its own transaction on its own
// connection, claiming with SKIP LOCKED as replicas do: while one batch's statements run in
// PostgreSQL, another is planned and encoded here, and a server with more than one core works on
// both. A batch that fails stops the others (theirs roll back) and fails the run.
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	log := scheduler.Logger(ctx)
	st := &runState{}
	if err := civil.CheckRange(now); err != nil {
		return st.total.summary(), fmt.Errorf("escalation: now: %w", err)
	}
	// The lag gauge is set from the oldest due alert the run claimed when the run ends, however
	// it ends.
	defer func() { t.metrics.setLag(now, st.oldestDue) }()

	// A failed ack timeout pass fails the run, but only after the escalations: it must not stop
	// the pages of every other alert.
	acks, ackErr := t.ackTimeoutPass(ctx, now)
	c := countAcks(acks)
	st.total.add(c)
	t.metrics.add(c)
	logAcks(log, acks)

	// starting ends t.stopMargin before the deadline: no batch but the run's first starts after
	// it.
	starting := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		starting, cancel = context.WithDeadline(ctx, deadline.Add(-t.stopMargin))
		defer cancel()
	}
	// Every batch escalates at now: what one batch loads serves the next ones (see load).
	cache := newRunCache()
	g, gctx := errgroup.WithContext(ctx)
	for range t.workers {
		g.Go(func() error { return t.work(gctx, starting, now, cache, st) })
	}
	err := g.Wait()
	s := st.summary()
	if err != nil {
		return s, errors.Join(ackErr, fmt.Errorf("escalation: %w", err))
	}
	if st.stopped {
		log.Warn("escalation stopped before its deadline; the next run goes on", "batches", st.total.batches)
		s["stopped_before_deadline"] = true
	}
	return s, ackErr
}

// runState is what a run's workers share: the batches they have taken, whether one found nothing
// more to do or the deadline near, the oldest due alert claimed, and the committed counts.
type runState struct {
	mu        sync.Mutex
	batches   int  // batches started
	done      bool // a batch came back short: nothing due is left but what others hold
	stopped   bool // a batch was not started because the deadline is near
	oldestDue time.Time
	total     counts
}

// take returns the number of the next batch to run, or false when none should start: the run's
// work is done, or the deadline is near and this would not be the run's first batch.
func (st *runState) take(starting context.Context) (int, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return 0, false
	}
	if st.batches > 0 && starting.Err() != nil {
		st.stopped = true
		return 0, false
	}
	st.batches++
	return st.batches, true
}

// next is the number the next batch would take.
func (st *runState) next() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.batches + 1
}

func (st *runState) claimed(due time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if !due.IsZero() && (st.oldestDue.IsZero() || due.Before(st.oldestDue)) {
		st.oldestDue = due
	}
}

func (st *runState) committed(c counts, short bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.total.add(c)
	st.done = st.done || short
}

func (st *runState) summary() scheduler.Summary {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.total.summary()
}

// work runs batches until the run's work is done, the deadline is near, or ctx ends.
func (t *Task) work(ctx, starting context.Context, now time.Time, cache *runCache, st *runState) error {
	log := scheduler.Logger(ctx)
	for {
		// A cancelled run is not one stopped before its deadline (starting ends with ctx too).
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("before batch %d: %w", st.next(), err)
		}
		batch, ok := st.take(starting)
		if !ok {
			return nil
		}
		outcomes, pages, enq, due, err := t.runBatch(ctx, now, cache)
		st.claimed(due)
		if err != nil {
			return fmt.Errorf("batch %d: %w", batch, err)
		}
		if len(outcomes) == 0 {
			st.committed(counts{}, true)
			return nil
		}
		c := countBatch(outcomes, pages, enq)
		t.metrics.add(c)
		// A short batch means nothing due is left but what other workers and replicas hold.
		st.committed(c, len(outcomes) < t.batchSize)
		logBatch(log, batch, outcomes, c)
		for _, id := range enq.NoContact {
			log.Warn("page failed at once: its responder has no enabled contact method", "notification_id", id)
		}
	}
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
// the pages it inserted once committed (none: nothing was due), and when the oldest alert it
// claimed was due (zero: none). It loads only what no earlier batch of the run loaded (cache
// keeps the run's).
func (t *Task) runBatch(ctx context.Context, now time.Time, cache *runCache) (_ []outcome, _ []int64, enq delivery.Enqueued, due time.Time, _ error) {
	// Begun through the scheduler: it cannot commit once this run has lost its job lock.
	tx, err := scheduler.Begin(ctx, t.pool)
	if err != nil {
		return nil, nil, enq, due, fmt.Errorf("begin: %w", err)
	}
	// After a commit this is a no-op; after a failure (a cancelled ctx included) it ends the
	// transaction, so nothing of the batch stays.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	alerts, due, err := claim(ctx, tx, now, t.batchSize)
	if err != nil || len(alerts) == 0 {
		return nil, nil, enq, due, err
	}
	decisions, data, err := load(ctx, tx, alerts, now, cache)
	if err != nil {
		return nil, nil, enq, due, err
	}
	outcomes := make([]outcome, len(decisions))
	for i, d := range decisions {
		outcomes[i] = plan(d, data, now)
	}
	pages, err := write(ctx, tx, outcomes, now)
	if err != nil {
		return nil, nil, enq, due, err
	}
	if t.deliveries != nil && len(pages) > 0 {
		if enq, err = t.deliveries.Enqueue(ctx, tx, pages, now); err != nil {
			return nil, nil, enq, due, err
		}
	}
	// A run cancelled by now ends here, its transaction rolled back at once (deferred above):
	// a commit begun with a cancelled context would drop the connection instead, and the server
	// would hold the batch's locks until it noticed.
	if err := ctx.Err(); err != nil {
		return nil, nil, enq, due, err
	}
	// A cancellation that arrives while the commit runs (another worker's failure, a shutdown)
	// does not cut it short: its outcome would be unknown, and the summary, the metrics and the
	// log would miss a batch that committed. It is bounded on its own instead; the job's fence
	// keeps it safe even once the run has lost its lock (see scheduler.Begin).
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := tx.Commit(cctx); err != nil {
		return nil, nil, enq, due, fmt.Errorf("commit: %w", err)
	}
	return outcomes, pages, enq, due, nil
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
