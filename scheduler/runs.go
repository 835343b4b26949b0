package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/civil"
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

// What a listing of the run history may filter by: a run's status and its trigger.
var (
	RunStatuses = []string{statusRunning, statusSucceeded, statusFailed, statusSkipped}
	RunTriggers = []string{TriggerSchedule, TriggerNotify, TriggerManual}
)

// statusRunning is the status of a run in progress (or left behind by a process that died).
const statusRunning = "running"

// Bounds of a page of runs.
const (
	DefaultRunsLimit = 50
	MaxRunsLimit     = 1000
)

// ErrBadFilter is wrapped by the error of a RunFilter that names an unknown status or trigger,
// an empty window or a limit out of bounds: a caller's mistake, not the database's.
var ErrBadFilter = errors.New("bad run filter")

// RunFilter selects runs of the history for ListRuns. The zero value selects every run.
type RunFilter struct {
	Job     string // "": every job
	Status  string // "": any; else one of RunStatuses
	Trigger string // "": any; else one of RunTriggers (rows from before triggers were recorded have none)
	// Since and Until bound started_at to [Since, Until); zero: unbounded on that side.
	Since, Until time.Time
	// After continues a listing: the runs after (older than) the cursor a previous page
	// returned as Next. Zero: the first page.
	After RunCursor
	Limit int // runs per page, 1 to MaxRunsLimit; 0: DefaultRunsLimit
}

// RunCursor is a position in a listing, which orders runs newest first by started_at, then id.
type RunCursor struct {
	StartedAt time.Time
	ID        int64
}

// IsZero reports whether c is the start of a listing.
func (c RunCursor) IsZero() bool { return c.ID == 0 }

// String encodes c for a URL: the start's Unix microseconds (the database's precision), a dash
// and the id.
func (c RunCursor) String() string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.StartedAt.UnixMicro(), 10) + "-" + strconv.FormatInt(c.ID, 10)
}

// ParseRunCursor decodes what RunCursor.String encoded; "" is the zero cursor.
func ParseRunCursor(s string) (RunCursor, error) {
	if s == "" {
		return RunCursor{}, nil
	}
	us, id, ok := strings.Cut(s, "-")
	u, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if !ok || err1 != nil || err2 != nil || n <= 0 {
		return RunCursor{}, fmt.Errorf("%w: cursor %q is not one a listing returned", ErrBadFilter, s)
	}
	return RunCursor{StartedAt: time.UnixMicro(u).UTC(), ID: n}, nil
}

// RunPage is one page of a listing.
type RunPage struct {
	Runs []Run // newest first; never nil
	// Next continues the listing (RunFilter.After); zero when this page is the last.
	Next RunCursor
}

// ListRuns returns the runs f selects, newest first, one page at a time (keyset pagination: a
// page costs the same however deep into the history it is).
//
// The statement is assembled from fixed fragments, one per filter given, so each combination
// gets its plan, made with the filter's values, on the index that serves it:
// job_runs_job_started_idx with a job,
// job_runs_status_started_idx or job_runs_trigger_started_idx with a status or a trigger (the
// failed runs are found without walking the succeeded ones), job_runs_started_idx otherwise;
// TestListRunsQueryPlans checks them.
func ListRuns(ctx context.Context, q Querier, f RunFilter) (RunPage, error) {
	sql, args, limit, err := listRunsSQL(f)
	if err != nil {
		return RunPage{}, err
	}
	// Planned with its values every time (an unnamed statement): a prepared statement's generic
	// plan, which PostgreSQL switches to after five executions, cannot know that "failed" is
	// rare, and walks a job's whole history for its failures.
	rows, err := q.Query(ctx, sql, append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return RunPage{}, fmt.Errorf("scheduler: list runs: %w", err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return RunPage{}, fmt.Errorf("scheduler: list runs: %w", err)
	}
	page := RunPage{Runs: runs}
	if len(runs) > limit {
		page.Runs = runs[:limit]
		last := page.Runs[limit-1]
		page.Next = RunCursor{StartedAt: last.StartedAt, ID: last.ID}
	}
	return page, nil
}

// listRunsSQL builds ListRuns' statement and arguments; it asks for one run more than the page,
// to know whether another page follows.
func listRunsSQL(f RunFilter) (string, []any, int, error) {
	limit := f.Limit
	switch {
	case limit == 0:
		limit = DefaultRunsLimit
	case limit < 1 || limit > MaxRunsLimit:
		return "", nil, 0, fmt.Errorf("%w: limit %d is not from 1 to %d", ErrBadFilter, limit, MaxRunsLimit)
	}
	if f.Status != "" && !slices.Contains(RunStatuses, f.Status) {
		return "", nil, 0, fmt.Errorf("%w: status %q is not one of %s", ErrBadFilter, f.Status, strings.Join(RunStatuses, ", "))
	}
	if f.Trigger != "" && !slices.Contains(RunTriggers, f.Trigger) {
		return "", nil, 0, fmt.Errorf("%w: trigger %q is not one of %s", ErrBadFilter, f.Trigger, strings.Join(RunTriggers, ", "))
	}
	since, until := f.Since, f.Until
	if since.IsZero() {
		since = civil.MinInstant
	}
	if until.IsZero() {
		until = civil.MaxInstant
	}
	if !since.Before(until) {
		return "", nil, 0, fmt.Errorf("%w: the window %s to %s is empty", ErrBadFilter, since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	var b strings.Builder
	b.WriteString(`select id, job, scheduled_at, started_at, finished_at, status, trigger, error, summary
from job_runs
where started_at >= $1 and started_at < $2`)
	args := []any{since, until}
	add := func(fragment string, v any) {
		args = append(args, v)
		fmt.Fprintf(&b, fragment, len(args))
	}
	if f.Job != "" {
		add(" and job = $%d", f.Job)
	}
	if f.Status != "" {
		add(" and status = $%d", f.Status)
	}
	if f.Trigger != "" {
		add(" and trigger = $%d", f.Trigger)
	}
	if !f.After.IsZero() {
		args = append(args, f.After.StartedAt, f.After.ID)
		fmt.Fprintf(&b, " and started_at <= $%[1]d and (started_at < $%[1]d or id < $%[2]d)", len(args)-1, len(args))
	}
	args = append(args, limit+1)
	fmt.Fprintf(&b, "\norder by started_at desc, id desc\nlimit $%d", len(args))
	return b.String(), args, limit, nil
}

func scanRun(row pgx.CollectableRow) (Run, error) {
	var r Run
	var scheduled, finished *time.Time
	var trigger, errText *string
	if err := row.Scan(&r.ID, &r.Job, &scheduled, &r.StartedAt, &finished, &r.Status, &trigger, &errText, &r.Summary); err != nil {
		return Run{}, err
	}
	if scheduled != nil {
		r.ScheduledAt = *scheduled
	}
	if finished != nil {
		r.FinishedAt = *finished
	}
	if trigger != nil {
		r.Trigger = *trigger
	}
	if errText != nil {
		r.Error = *errText
	}
	return r, nil
}

// DurationBucket summarises the finished runs (succeeded or failed) of a job that started in
// [Start, End).
type DurationBucket struct {
	Start, End time.Time
	Runs       int
	Failed     int
	Mean, Max  time.Duration // zero when Runs is 0
}

// runDurationsSQL aggregates a job's finished runs into buckets with one range scan of
// job_runs_job_started_idx: a day of a job that runs every minute is 1,440 rows, whatever the
// length of the history. $2 holds the buckets' starts; width_bucket numbers them from 1.
const runDurationsSQL = `
select width_bucket(started_at, $2::timestamptz[]) as b, count(*), count(*) filter (where status = 'failed'),
       avg(extract(epoch from finished_at - started_at))::float8, max(extract(epoch from finished_at - started_at))::float8
from job_runs
where job = $1 and started_at >= $3 and started_at < $4 and status in ('succeeded', 'failed')
group by b
order by b`

// RunDurations cuts [from, to) into n equal buckets and summarises job's finished runs in each.
func RunDurations(ctx context.Context, q Querier, job string, from, to time.Time, n int) ([]DurationBucket, error) {
	if n < 1 || n > 10000 || !from.Before(to) {
		return nil, fmt.Errorf("%w: %d buckets over %s to %s", ErrBadFilter, n, from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	width := to.Sub(from) / time.Duration(n)
	buckets := make([]DurationBucket, n)
	starts := make([]time.Time, n)
	for i := range buckets {
		starts[i] = from.Add(time.Duration(i) * width)
		buckets[i].Start = starts[i]
		buckets[i].End = from.Add(time.Duration(i+1) * width)
	}
	buckets[n-1].End = to
	rows, err := q.Query(ctx, runDurationsSQL, job, starts, from, to)
	if err != nil {
		return nil, fmt.Errorf("scheduler: run durations: %w", err)
	}
	var b, runs, failed int
	var mean, maxSeconds float64
	_, err = pgx.ForEachRow(rows, []any{&b, &runs, &failed, &mean, &maxSeconds}, func() error {
		if b < 1 || b > n {
			return nil // cannot happen: the range is that of the buckets
		}
		k := &buckets[b-1]
		k.Runs, k.Failed = runs, failed
		k.Mean, k.Max = seconds(mean), seconds(maxSeconds)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: run durations: %w", err)
	}
	return buckets, nil
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second)).Round(time.Microsecond)
}
