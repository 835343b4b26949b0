package main

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
)

// newJobs builds every task, by name; reg receives the tasks' metrics.
func newJobs(cfg *config, pool *pgxpool.Pool, reg prometheus.Registerer) map[string]scheduler.Job {
	return map[string]scheduler.Job{}
}
