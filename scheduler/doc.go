// Package scheduler runs jobs on cron specs with the discipline a production worker needs, on top
// of github.com/robfig/cron/v3: no overlapping runs, panics recovered and recorded, a deadline per
// run, one run per firing across replicas (a PostgreSQL advisory lock), a history row per run,
// Prometheus metrics, and a graceful drain on shutdown.
//
// It knows nothing of alerts: a job is anything with a name and a Run(ctx, now) method.
package scheduler
