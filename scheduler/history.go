package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Statuses of a row in job_runs.
const (
	statusSucceeded = "succeeded"
	statusFailed    = "failed"
	statusSkipped   = "skipped"
)

// history writes job_runs. Every statement reads one row or one indexed range (see the indexes
// of 00001_job_runs.sql), so it costs the same whatever the table's size.
type history struct {
	instance  string
	retention time.Duration
}

// errAlreadyRun means another replica has already run this firing.
var errAlreadyRun = errors.New("this firing has already run")

// begin marks runs of job still "running" as failed — the caller holds the job's lock, so no live
// run of it exists anywhere: those rows belong to a process that died — and inserts the new run.
//
// For a scheduled firing (once) it first checks that no replica has run the same firing: the lock
// alone only keeps runs apart in time, and a replica whose clock lags by a few milliseconds would
// otherwise take the lock just after the first one released it and run the firing again.
func (h history) begin(ctx context.Context, conn *pgxpool.Conn, job string, scheduledAt, startedAt time.Time, once bool) (int64, error) {
	if once {
		var done bool
		err := conn.QueryRow(ctx, `
			select exists (select 1 from job_runs
			                where job = $1 and scheduled_at = $2 and status <> 'skipped')`, job, scheduledAt).Scan(&done)
		if err != nil {
			return 0, fmt.Errorf("history: find earlier run of this firing: %w", err)
		}
		if done {
			return 0, errAlreadyRun
		}
	}
	_, err := conn.Exec(ctx, `
		update job_runs set status = 'failed', finished_at = $2,
		       error = 'abandoned: the process running it stopped before it finished'
		 where job = $1 and status = 'running'`, job, startedAt)
	if err != nil {
		return 0, fmt.Errorf("history: close abandoned runs: %w", err)
	}
	var id int64
	err = conn.QueryRow(ctx, `
		insert into job_runs (job, scheduled_at, started_at, status, instance)
		values ($1, $2, $3, 'running', $4) returning id`,
		job, nullTime(scheduledAt), startedAt, h.instance).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("history: insert run: %w", err)
	}
	return id, nil
}

// finish records the outcome of run id and prunes rows older than the retention.
func (h history) finish(ctx context.Context, conn *pgxpool.Conn, id int64, finishedAt time.Time, status string, runErr error, summary Summary) error {
	body, err := json.Marshal(summary)
	if err != nil {
		body, _ = json.Marshal(map[string]string{"unencodable_summary": err.Error()})
	}
	var errText *string
	if runErr != nil {
		s := runErr.Error()
		errText = &s
	}
	if _, err := conn.Exec(ctx, `
		update job_runs set status = $2, finished_at = $3, error = $4, summary = $5 where id = $1`,
		id, status, finishedAt, errText, body); err != nil {
		return fmt.Errorf("history: finish run %d: %w", id, err)
	}
	if _, err := conn.Exec(ctx, `delete from job_runs where started_at < $1`, finishedAt.Add(-h.retention)); err != nil {
		return fmt.Errorf("history: prune: %w", err)
	}
	return nil
}

// skipped records a firing that did not run because the previous run of the job still runs here.
func (h history) skipped(ctx context.Context, pool *pgxpool.Pool, job string, scheduledAt, at time.Time, reason string) (int64, error) {
	var id int64
	err := pool.QueryRow(ctx, `
		insert into job_runs (job, scheduled_at, started_at, finished_at, status, error, instance)
		values ($1, $2, $3, $3, 'skipped', $4, $5) returning id`,
		job, nullTime(scheduledAt), at, reason, h.instance).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("history: record skipped run: %w", err)
	}
	return id, nil
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
