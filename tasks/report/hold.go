package report

import (
	"context"
	"time"

	"github.com/opsworker/opsworker/scheduler"
)

// staleRun bounds how long a run marked running holds reports back. A row left running by a
// process that died is marked failed by that job's next run, but a job that never runs again
// would otherwise block every tenant's reports for good; no real run lasts this long (JOB_TIMEOUT
// is minutes).
const staleRun = 24 * time.Hour

// writersSince returns the earliest instant a run of another job still in progress may stamp
// rows with, or the zero time when no other job is running. The escalation task stamps
// notifications.created_at and alert_events.at with its run's now and commits batch by batch
// until it is done, so a run fired at 23:59 may commit rows of 23:59 after midnight: a day whose
// end is after the returned instant is not finished yet, whatever the clock says. The report
// task's own runs write nothing the report reads. One query per run, however many tenants and
// days.
func writersSince(ctx context.Context, q scheduler.Querier, self string, now time.Time) (time.Time, error) {
	return scheduler.OldestRunning(ctx, q, self, now.Add(-staleRun))
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
