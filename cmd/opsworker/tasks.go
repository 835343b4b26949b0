package main

import (
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/report"
)

// taskDef is one entry of the task registry: everything the commands need to configure, schedule,
// run, document and size a task. Configuration, serve, run, schedule, --help and the pool-size
// check all read the registry, so adding a task is one entry here plus its package.
type taskDef struct {
	// Name is the task's name: its job's Name(), the argument of `run`, the job label of its
	// metrics and the job of its runs in the run history.
	Name string
	// Variable is the environment variable of its cron spec, and Default the spec when it is unset.
	Variable, Default string
	// Conns is how many pool connections one run holds at most, its job lock's included.
	Conns int
	// Summary says what it does, for --help.
	Summary string
	// New builds the task's job.
	New func(taskDeps) scheduler.Job
	// WakeChannel, when set, is a PostgreSQL notification channel on which serve asks for a run of
	// the task at once (besides its spec), while ESCALATION_ON_NOTIFY is true.
	WakeChannel string
}

// taskDeps is what a task's constructor may use.
type taskDeps struct {
	cfg        *config
	pool       *pgxpool.Pool
	reg        prometheus.Registerer // the task's metrics go here
	deliveries *delivery.Enqueuer    // queues pages' deliveries; nil: none
}

// registry lists the tasks, in the order they are shown.
var registry = []taskDef{
	{
		Name: "escalation", Variable: "ESCALATION_SCHEDULE", Default: "@every 1m", Conns: 2,
		Summary:     "page whoever is on call for every due, unacknowledged alert, one step per alert",
		WakeChannel: "opsworker_escalation", // sql/migrations/00008_wakeups.sql
		New: func(d taskDeps) scheduler.Job {
			return escalation.New(d.pool, escalation.Options{Registerer: d.reg, Deliveries: d.deliveries})
		},
	},
	{
		Name: "report", Variable: "REPORT_SCHEDULE", Default: "@daily", Conns: 2,
		Summary: "write each tenant's daily report for every finished local day not yet reported",
		New: func(d taskDeps) scheduler.Job {
			return report.New(d.pool, report.Options{Registerer: d.reg, CatchupDays: d.cfg.ReportCatchupDays})
		},
	},
}

// specText is the task's spec as configured.
func (td taskDef) specText() string { return getenv(td.Variable, td.Default) }

// findTask returns the registry entry of the task named name.
func findTask(name string) (taskDef, bool) {
	i := slices.IndexFunc(registry, func(td taskDef) bool { return td.Name == name })
	if i < 0 {
		return taskDef{}, false
	}
	return registry[i], true
}

// taskNames lists the tasks' names, for messages.
func taskNames() string { return strings.Join(taskNamesList(), ", ") }

// taskNamesList lists the tasks' names, in registry order.
func taskNamesList() []string {
	names := make([]string, len(registry))
	for i, td := range registry {
		names[i] = td.Name
	}
	return names
}
