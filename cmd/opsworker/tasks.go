package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// newJobs builds every task, by name; reg receives the tasks' metrics.
func newJobs(cfg *config, pool *pgxpool.Pool, reg prometheus.Registerer) map[string]scheduler.Job {
	return map[string]scheduler.Job{
		"escalation": escalation.New(pool, escalation.Options{Registerer: reg}),
		"report":     report.New(pool, report.Options{Registerer: reg, CatchupDays: cfg.ReportCatchupDays}),
	}
}
