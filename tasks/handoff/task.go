package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// Bounds of what a run tells: a change more than SkipAfter old when a run comes to it is recorded
// as skipped, not sent (news of a handoff hours ago misleads more than it helps); a cursor more
// than MaxCatchup behind starts again MaxCatchup back, so a worker down for months does not
// compute months of shifts for every schedule.
const (
	SkipAfter  = time.Hour
	MaxCatchup = 7 * 24 * time.Hour
)

// Task is the handoff task, a scheduler.Job. It is safe to run from several replicas at once.
type Task struct {
	pool       *pgxpool.Pool
	lead       time.Duration
	deliveries *delivery.Enqueuer
	batchSize  int
	metrics    *metrics
}

var (
	_ scheduler.Job   = (*Task)(nil)
	_ scheduler.Idler = (*Task)(nil)
)

// New returns the handoff task working on pool. Validate opts first.
func New(pool *pgxpool.Pool, opts Options) *Task {
	size := opts.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	return &Task{pool: pool, lead: opts.Lead, deliveries: opts.Deliveries, batchSize: size, metrics: newMetrics(opts.Registerer)}
}

// Name is the job's name: "handoff".
func (t *Task) Name() string { return "handoff" }

// Idle reports a run that told nothing: every run covers every schedule, so only its notices
// make it worth a line at info.
func (t *Task) Idle(s scheduler.Summary) bool {
	for _, k := range []string{"notices", "skipped", "failed", "bad_schedules"} {
		if n, _ := s[k].(int); n != 0 {
			return false
		}
	}
	return true
}

// Run covers every schedule up to now: batches of schedules until none is left behind now (or
// ctx ends). The summary counts committed work only; a batch cut short leaves no trace and the
// next run covers its schedules.
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	// Instants go through PostgreSQL, which keeps microseconds: cursors must compare equal to
	// the now they were moved to.
	now = now.Truncate(time.Microsecond)
	log := scheduler.Logger(ctx)
	var total counts
	err := scheduler.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, ensureCursorsSQL, now)
		return err
	})
	if err != nil {
		return total.summary(), fmt.Errorf("handoff: cursors: %w", err)
	}
	var after int64 // the last schedule claimed: batches walk the schedules in id order
	for batch := 1; ; batch++ {
		if err := ctx.Err(); err != nil {
			return total.summary(), fmt.Errorf("handoff: before batch %d: %w", batch, err)
		}
		c, err := t.runBatch(ctx, log, now, &after)
		if err != nil {
			return total.summary(), fmt.Errorf("handoff: batch %d: %w", batch, err)
		}
		if c.schedules == 0 {
			break
		}
		t.metrics.add(c)
		total.add(c)
		// A short batch: nothing is left behind but what other replicas hold.
		if c.schedules < t.batchSize {
			break
		}
	}
	return total.summary(), nil
}

// runBatch covers one batch of schedules after *after in one transaction, and moves *after to
// its last.
func (t *Task) runBatch(ctx context.Context, log *slog.Logger, now time.Time, after *int64) (counts, error) {
	c := counts{batches: 1}
	tx, err := scheduler.Begin(ctx, t.pool)
	if err != nil {
		return c, fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	cursors, err := claim(ctx, tx, now, t.batchSize, *after)
	if err != nil || len(cursors) == 0 {
		return counts{}, err
	}
	c.schedules = len(cursors)
	*after = cursors[len(cursors)-1].ScheduleID
	ids := make([]int64, len(cursors))
	windows := make([]window, len(cursors))
	since := now
	for i, cur := range cursors {
		ids[i] = cur.ScheduleID
		windows[i] = t.window(cur, now)
		since = minTime(since, minTime(windows[i].ChangedFrom, windows[i].UpcomingFrom))
	}
	schedules, bad, err := oncall.LoadMany(ctx, tx, ids, since)
	if err != nil {
		return c, err
	}
	subs, err := loadSubscriptions(ctx, tx, schedules)
	if err != nil {
		return c, err
	}

	var rows []row
	for i, id := range ids {
		s := schedules[id]
		if s == nil {
			// Deleted since the claim, or bad data: passed over (its window with it), never a
			// stop for the others.
			if !errors.Is(bad[id], oncall.ErrNotFound) {
				c.badSchedules++
				log.Warn("handoff: schedule cannot be computed; its changes are passed over", "schedule_id", id, "error", bad[id])
			}
			continue
		}
		planned := plan(s, subs[id], windows[i])
		c.changes += countChanges(planned)
		rows = append(rows, planned...)
	}
	var responders []int64
	for _, r := range rows {
		if r.Kind == vocab.NoticeUpcoming {
			responders = append(responders, r.ResponderID)
		}
	}
	methods, err := loadContactMethods(ctx, tx, slices.Compact(slices.Sorted(slices.Values(responders))))
	if err != nil {
		return c, err
	}
	for i := range rows {
		r := &rows[i]
		switch {
		case r.ChangeAt.Before(now.Add(-SkipAfter)):
			r.Status = vocab.NoticeSkipped
		case r.Kind == vocab.NoticeUpcoming && len(methodsOf(methods, *r)) == 0:
			r.Status, r.LastError = vocab.NoticeFailed, string(vocab.ReasonNoContactMethod)
		}
	}

	inserted, err := insertRows(ctx, tx, rows, now)
	if err != nil {
		return c, err
	}
	var msgs []delivery.Message
	var fresh []row
	for _, r := range rows {
		id, ok := inserted[r.key()]
		if !ok {
			c.existing++
			continue
		}
		fresh = append(fresh, r)
		switch r.Status {
		case vocab.NoticeSkipped:
			c.skipped++
			continue
		case vocab.NoticeFailed:
			c.failed++
			continue
		}
		c.notices++
		m := delivery.Message{Kind: vocab.MessageNotice, TenantID: r.TenantID, SourceID: id, Notice: &r.Notice}
		if r.Kind == vocab.NoticeChanged {
			m.SubscriptionID = r.SubscriptionID
			msgs = append(msgs, m)
			continue
		}
		for _, cm := range methodsOf(methods, r) {
			m.ContactMethodID = cm.ID
			msgs = append(msgs, m)
		}
	}
	if t.deliveries != nil && len(msgs) > 0 {
		if c.deliveries, err = t.deliveries.EnqueueMessages(ctx, tx, msgs); err != nil {
			return c, err
		}
	}
	if _, err := tx.Exec(ctx, moveSQL, ids, now, now.Add(t.lead)); err != nil {
		return c, fmt.Errorf("move cursors: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return c, fmt.Errorf("commit: %w", err)
	}
	logRows(log, fresh)
	log.Debug("handoff batch committed", "schedules", c.schedules, "notices", c.notices, "skipped", c.skipped, "failed", c.failed)
	return c, nil
}

// window is what a run at now covers of a schedule whose cursor is cur.
func (t *Task) window(cur cursor, now time.Time) window {
	floor := now.Add(-MaxCatchup)
	return window{
		ChangedFrom: maxTime(cur.ChangedThrough, floor), ChangedTo: now,
		UpcomingFrom: maxTime(cur.UpcomingThrough, floor), UpcomingTo: now.Add(t.lead),
	}
}

// countChanges counts the distinct changes rows tell.
func countChanges(rows []row) int {
	n := 0
	for i, r := range rows {
		if i == 0 || r.ScheduleID != rows[i-1].ScheduleID || !r.ChangeAt.Equal(rows[i-1].ChangeAt) {
			n++
		}
	}
	return n
}

// logRows logs the new outbox rows once per change and kind: queued at info, skipped and failed
// at warn. Responders are named by id (logs are not the place for people's names).
func logRows(log *slog.Logger, rows []row) {
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].ScheduleID == rows[i].ScheduleID && rows[j].ChangeAt.Equal(rows[i].ChangeAt) &&
			rows[j].Kind == rows[i].Kind && rows[j].Status == rows[i].Status {
			j++
		}
		r := rows[i]
		args := []any{"tenant_id", r.TenantID, "schedule_id", r.ScheduleID, "kind", r.Kind, "change_at", r.ChangeAt,
			"on_call", ids(r.Notice.OnCall), "off_call", ids(r.Notice.OffCall), "recipients", j - i}
		switch r.Status {
		case vocab.NoticeSkipped:
			log.Warn("handoff notice skipped: the change is over an hour old", args...)
		case vocab.NoticeFailed:
			log.Warn("handoff notice failed: the responder has no enabled contact method", append(args, "responder_id", r.ResponderID)...)
		default:
			log.Info("handoff notice queued", args...)
		}
		i = j
	}
}

func ids(ns []delivery.Named) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}
