package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// staleRun bounds how long a run marked running holds reports back. A row left running by a
// process that died is marked failed by that job's next run, but a job that never runs again
// would otherwise block every tenant's reports for good; no real run lasts this long (JOB_TIMEOUT
// is minutes).
const staleRun = 24 * time.Hour

// writersSQL returns the earliest instant a run still in progress may stamp rows with: the
// escalation task stamps notifications.created_at and alert_events.at with its run's now (a
// firing's scheduled time, a manual run's --at; the start time stands in where none is recorded)
// and commits batch by batch until it is done, so a run fired at 23:59 may commit rows of 23:59
// after midnight. The report task's own
// runs write nothing the report reads. Served by 00001's job_runs_job_running_idx, partial on
// status = 'running': it reads only the running rows, however long the history.
const writersSQL = `
select min(coalesce(scheduled_at, started_at)) from job_runs
where status = 'running' and job <> $1 and started_at > $2`

// writersSince returns the instant of writersSQL at now for a task named self, or the zero time
// when no other job is running. A day whose end is after it is not finished yet, whatever the
// clock says: rows stamped inside it may still commit. It is one query per run, however many
// tenants and days.
func writersSince(ctx context.Context, pool *pgxpool.Pool, self string, now time.Time) (time.Time, error) {
	var since *time.Time
	if err := pool.QueryRow(ctx, writersSQL, self, now.Add(-staleRun)).Scan(&since); err != nil {
		return time.Time{}, fmt.Errorf("find running jobs: %w", err)
	}
	if since == nil {
		return time.Time{}, nil
	}
	return *since, nil
}

// holdBack splits days into those that can be written now and those held back: those that end
// after since (non-zero), into which a running run may still write. The order is kept.
func holdBack(days []day, since time.Time) (ready, held []day) {
	if since.IsZero() {
		return days, nil
	}
	for _, d := range days {
		if d.end.After(since) {
			held = append(held, d)
		} else {
			ready = append(ready, d)
		}
	}
	return ready, held
}
