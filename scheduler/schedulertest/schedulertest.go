// Package schedulertest fills the scheduler's run history for the tests and benchmarks of the
// packages that read it (the console): job_runs belongs to package scheduler, so nothing else
// writes it, not even a fixture.
package schedulertest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// History describes the runs FillHistory writes: one per Every, the last starting before Until,
// each lasting Duration plus up to Jitter (a deterministic pattern), every FailEvery-th failed
// (0: none) with an error.
type History struct {
	Job       string
	Until     time.Time
	Every     time.Duration
	Runs      int
	Duration  time.Duration
	Jitter    time.Duration
	FailEvery int
}

// FillHistory writes h's runs, as cron firings, in one statement, and refreshes the table's
// statistics so that plans are those of a long-lived table.
func FillHistory(tb testing.TB, pool *pgxpool.Pool, h History) {
	tb.Helper()
	fail := h.FailEvery
	if fail <= 0 {
		fail = h.Runs + 1
	}
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		insert into job_runs (job, scheduled_at, started_at, finished_at, status, error, summary, instance, trigger)
		select $1, t, t + interval '3 ms', t + interval '3 ms' + $4::bigint * interval '1 microsecond' + (i % 17) * $5::bigint * interval '1 microsecond' / 16,
		       case when i % $6 = 0 then 'failed' else 'succeeded' end,
		       case when i % $6 = 0 then 'escalation: batch 1: commit: connection reset (fixture)' end,
		       jsonb_build_object('alerts_escalated', i % 3, 'pages', i % 5), 'fixture', 'schedule'
		from generate_series(1, $3::int) i,
		     lateral (select $2::timestamptz - i * $7::bigint * interval '1 microsecond' as t) x`,
		h.Job, h.Until, h.Runs, h.Duration.Microseconds(), h.Jitter.Microseconds(), fail, h.Every.Microseconds())
	if err != nil {
		tb.Fatalf("schedulertest: fill history: %v", err)
	}
	if _, err := pool.Exec(ctx, `vacuum analyze job_runs`); err != nil {
		tb.Fatalf("schedulertest: analyze: %v", err)
	}
}
