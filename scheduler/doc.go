// Package scheduler runs jobs on cron specs with the discipline a production worker needs: no
// overlapping runs, panics recovered and recorded, a deadline per run, one run per firing across
// replicas (a PostgreSQL advisory lock), a history row per run, Prometheus metrics, wake-ups from
// PostgreSQL notifications (RunSoon, Listen), and a graceful drain on shutdown.
//
// Specs are parsed by github.com/robfig/cron/v3 and corrected (Spec); the firings are the
// scheduler's own, on an injected clock (Options.Clock), so tests move time instead of waiting
// for it (see firing.go).
//
// It knows nothing of alerts: a job is anything with a name and a Run(ctx, now) method.
package scheduler
