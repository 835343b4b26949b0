package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Querier is what reading the run history needs: *pgxpool.Pool, *pgx.Conn and pgx.Tx satisfy it.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// oldestRunningSQL is served by 00001's job_runs_job_running_idx, partial on status = 'running':
// it reads only the running rows, however long the history.
const oldestRunningSQL = `
select min(coalesce(scheduled_at, started_at)) from job_runs
where status = 'running' and job <> $1 and started_at > $2`

// OldestRunning returns the earliest now of the runs in progress of every job but except, or the
// zero time when there is none. A run's now is its firing time (a manual run's chosen instant;
// its start where neither is recorded), and a job stamps what it writes with it: rows stamped at
// or after the returned instant may still commit. Runs started at or before notBefore are left
// out: a row left running by a process that died is closed by its job's next run, but a job that
// never runs again must not hold readers back for good.
func OldestRunning(ctx context.Context, q Querier, except string, notBefore time.Time) (time.Time, error) {
	var oldest *time.Time
	if err := q.QueryRow(ctx, oldestRunningSQL, except, notBefore).Scan(&oldest); err != nil {
		return time.Time{}, fmt.Errorf("scheduler: find running runs: %w", err)
	}
	if oldest == nil {
		return time.Time{}, nil
	}
	return *oldest, nil
}
