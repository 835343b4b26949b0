package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
	"github.com/sethvargo/go-retry"
)

// Statuses of a row in job_runs.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusSkipped   = "skipped"
)

// What started a run (job_runs.trigger).
const (
	TriggerSchedule = "schedule" // a cron firing
	TriggerNotify   = "notify"   // a wake-up (RunSoon)
	TriggerManual   = "manual"   // a person (RunNow)
)

// notStarted begins the error of a firing that could not start, so a run of the same firing
// replaces its row (see beginSQL).
const notStarted = "not started: "

// history writes job_runs. Every statement reads one row or one indexed range (see the indexes
// of 00001_job_runs.sql and 00005_job_runs_trigger.sql), so it costs the same whatever the
// table's size.
//
// A row that cannot be written when it should be — a firing that could not start because the
// database did not answer, an outcome whose write kept failing — waits in memory (bounded) and is
// written once the database answers again, so every firing leaves exactly one row.
type history struct {
	pool        *pgxpool.Pool
	clock       clockwork.Clock
	instance    string
	retention   time.Duration
	maxPending  int
	outcomeWait time.Duration // how long an outcome write is retried before it waits in memory

	mu      sync.Mutex
	pending []pendingRow
	dropped int
}

// pendingRow is a write that waits for the database: a missed firing's row (id 0), or the
// outcome of run id.
type pendingRow struct {
	id                                 int64
	job, trigger                       string
	scheduledAt, startedAt, finishedAt time.Time
	status, error                      string
	summary                            []byte
}

// errAlreadyRun means another replica has already run this firing.
var errAlreadyRun = errors.New("this firing has already run")

// closeRunningSQL closes the job's runs still marked running. The caller holds the job's lock,
// so none of them is still committing: either its process died (no connection of it is left:
// abandoned) or it is alive but lost the lock or could not record its outcome (interrupted; that
// process writes the true outcome over this when it can). A process is known by its connections'
// application_name (see ApplicationName).
const closeRunningSQL = `
update job_runs r set status = 'failed', finished_at = $2,
       error = case when exists (select 1 from pg_stat_activity a where a.application_name = left('opsworker ' || r.instance, 63))
                    then 'interrupted: its process (' || r.instance || ') is alive but lost the job lock or could not record the outcome'
                    else 'abandoned: its process (' || r.instance || ') is gone' end
 where job = $1 and status = 'running'`

// beginSQL records a run. A cron firing has one row (job_runs_firing_idx): when a row of the
// firing exists, the run replaces it only if it says the firing did not run (skipped here
// because the previous run still ran, or not started); otherwise nothing is returned and the
// firing has run elsewhere.
const beginSQL = `
insert into job_runs (job, scheduled_at, started_at, status, instance, trigger)
values ($1, $2, $3, 'running', $4, $5)
on conflict (job, scheduled_at) where trigger = 'schedule' do update
   set started_at = excluded.started_at, status = 'running', instance = excluded.instance,
       error = null, finished_at = null, summary = null
 where job_runs.status = 'skipped' or job_runs.error like 'not started: %'
returning id`

// begin closes the job's stale running rows and inserts the new run, on the lock connection.
// It returns errAlreadyRun when a replica has already run this cron firing: the lock alone only
// keeps runs apart in time, and a replica whose clock lags by a few milliseconds would otherwise
// take the lock just after the first one released it and run the firing again.
func (h *history) begin(ctx context.Context, conn *pgxpool.Conn, run Run) (int64, error) {
	if _, err := conn.Exec(ctx, closeRunningSQL, run.Job, run.StartedAt); err != nil {
		return 0, fmt.Errorf("history: close earlier runs: %w", err)
	}
	rows, err := conn.Query(ctx, beginSQL, run.Job, nullTime(run.ScheduledAt), run.StartedAt, h.instance, run.Trigger)
	if err != nil {
		return 0, fmt.Errorf("history: insert run: %w", err)
	}
	var id int64
	found := false
	for rows.Next() {
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("history: insert run: %w", err)
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("history: insert run: %w", err)
	}
	if !found {
		return 0, errAlreadyRun
	}
	return id, nil
}

const finishSQL = `update job_runs set status = $2, finished_at = $3, error = $4, summary = $5 where id = $1`

// finish records the outcome of run id, retrying for outcomeWait; past that it waits in memory.
// It also prunes rows older than the retention.
func (h *history) finish(ctx context.Context, run Run) error {
	row := pendingRow{id: run.ID, finishedAt: run.FinishedAt, status: run.Status, error: run.Error, summary: encodeSummary(run.Summary)}
	b := retry.WithCappedDuration(time.Second, retry.NewExponential(50*time.Millisecond))
	err := retryUntil(ctx, h.clock, b, h.clock.Now().Add(h.outcomeWait), func(ctx context.Context) error {
		return h.write(ctx, row)
	})
	if err != nil {
		h.keep(row)
		return fmt.Errorf("history: finish run %d (kept to write later): %w", run.ID, err)
	}
	if _, err := h.pool.Exec(ctx, `delete from job_runs where started_at < $1`, run.FinishedAt.Add(-h.retention)); err != nil {
		return fmt.Errorf("history: prune: %w", err)
	}
	return nil
}

// missed records a firing that did not run: skipped (its previous run still runs here) or not
// started (the database did not answer, the lock could not be taken in time). It is written at
// once if the database answers, and waits in memory otherwise.
func (h *history) missed(ctx context.Context, run Run) {
	row := pendingRow{job: run.Job, trigger: run.Trigger, scheduledAt: run.ScheduledAt, startedAt: run.FinishedAt,
		finishedAt: run.FinishedAt, status: run.Status, error: run.Error}
	if err := h.write(ctx, row); err != nil {
		h.keep(row)
	}
}

// write stores one row: a missed firing's, or a run's outcome.
func (h *history) write(ctx context.Context, r pendingRow) error {
	var errText *string
	if r.error != "" {
		errText = &r.error
	}
	if r.id != 0 {
		_, err := h.pool.Exec(ctx, finishSQL, r.id, r.status, r.finishedAt, errText, r.summary)
		return err
	}
	_, err := h.pool.Exec(ctx, `
		insert into job_runs (job, scheduled_at, started_at, finished_at, status, error, instance, trigger)
		values ($1, $2, $3, $4, $5, $6, $7, $8)
		on conflict (job, scheduled_at) where trigger = 'schedule' do nothing`,
		r.job, nullTime(r.scheduledAt), r.startedAt, r.finishedAt, r.status, errText, h.instance, r.trigger)
	return err
}

// keep puts a row in memory until the database answers, dropping the oldest beyond maxPending.
func (h *history) keep(r pendingRow) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pending = append(h.pending, r)
	if over := len(h.pending) - h.maxPending; over > 0 {
		h.pending = h.pending[over:]
		h.dropped += over
	}
}

// flush writes the rows waiting in memory, oldest first, and stops at the first failure. It
// returns how many it wrote and how many it has dropped for good (since the last flush).
func (h *history) flush(ctx context.Context) (written, dropped int, err error) {
	h.mu.Lock()
	rows := h.pending
	h.pending = nil
	dropped, h.dropped = h.dropped, 0
	h.mu.Unlock()
	for i, r := range rows {
		if err := h.write(ctx, r); err != nil {
			h.mu.Lock()
			h.pending = append(rows[i:], h.pending...)
			h.mu.Unlock()
			return i, dropped, err
		}
	}
	return len(rows), dropped, nil
}

// waiting returns how many rows wait in memory.
func (h *history) waiting() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pending)
}

func encodeSummary(s Summary) []byte {
	body, err := json.Marshal(s)
	if err != nil {
		body, _ = json.Marshal(map[string]string{"unencodable_summary": err.Error()})
	}
	return body
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
