package worker

import (
	"log/slog"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/escalation"
	"github.com/opsworker/opsworker/tasks/followups"
	"github.com/opsworker/opsworker/tasks/handoff"
	"github.com/opsworker/opsworker/tasks/heartbeats"
	"github.com/opsworker/opsworker/tasks/report"
)

// Task is one entry of the task registry: everything the process and the CLI need to configure,
// schedule, run, document and size a task. Configuration, serve, run, schedule, --help and the
// pool-size check all read the registry, so adding a task is one entry in Tasks plus its package.
type Task struct {
	// Name is the task's name: its job's Name(), the argument of `run`, the task label of its
	// metrics and the job of its runs in the run history.
	Name string
	// Variable is the environment variable of its cron spec, and Default the spec when it is unset.
	Variable, Default string
	// Conns is how many pool connections one run holds at most, its job lock's included.
	Conns int
	// Summary says what it does, for --help.
	Summary string
	// New builds the task's job.
	New func(Deps) scheduler.Job
	// WakeChannel, when set, is a PostgreSQL notification channel on which serve asks for a run of
	// the task at once (besides its spec), while ESCALATION_ON_NOTIFY is true.
	WakeChannel string
}

// Deps is what a task's constructor may use.
type Deps struct {
	Config     *Config
	Pool       *pgxpool.Pool
	Registerer prometheus.Registerer // the task's metrics go here
	Deliveries *delivery.Enqueuer    // queues deliveries in the task's transactions
	Logger     *slog.Logger
}

// Tasks is the registry, in the order tasks are shown.
var Tasks = []Task{
	{
		Name: "escalation", Variable: "ESCALATION_SCHEDULE", Default: "@every 1m", Conns: 1 + escalation.DefaultWorkers,
		Summary:     "page whoever is on call for every due, unacknowledged alert, one step per alert",
		WakeChannel: "opsworker_escalation", // sql/migrations/00008_wakeups.sql
		New: func(d Deps) scheduler.Job {
			return escalation.New(d.Pool, escalation.Options{Registerer: d.Registerer, Deliveries: d.Deliveries})
		},
	},
	{
		Name: "report", Variable: "REPORT_SCHEDULE", Default: "@daily", Conns: 2,
		Summary: "write each tenant's daily report for every finished local day not yet reported",
		New: func(d Deps) scheduler.Job {
			return report.New(d.Pool, report.Options{Registerer: d.Registerer, CatchupDays: d.Config.ReportCatchupDays})
		},
	},
	{
		Name: "handoff", Variable: "HANDOFF_SCHEDULE", Default: "@every 1m", Conns: 2,
		Summary: "tell schedules' subscribers who is now on call, and each responder HANDOFF_LEAD before their shift",
		New: func(d Deps) scheduler.Job {
			return handoff.New(d.Pool, handoff.Options{Lead: d.Config.HandoffLead, Registerer: d.Registerer, Deliveries: d.Deliveries})
		},
	},
	{
		Name: "heartbeats", Variable: "HEARTBEATS_SCHEDULE", Default: "@every 1m", Conns: 2,
		Summary: "open an alert for each heartbeat monitor silent past its interval; resolve it when pings return",
		New: func(d Deps) scheduler.Job {
			return heartbeats.New(d.Pool, heartbeats.Options{Registerer: d.Registerer})
		},
	},
	{
		Name: "followups", Variable: "FOLLOWUPS_SCHEDULE", Default: "@every 1m", Conns: 2,
		Summary:     "tell everyone paged for an alert that it was acknowledged, resolved or triggered again, and by whom",
		WakeChannel: "opsworker_followups", // sql/migrations/00012_followups.sql
		New: func(d Deps) scheduler.Job {
			return followups.New(d.Pool, followups.Options{Registerer: d.Registerer, Deliveries: d.Deliveries, ConsoleURL: consoleURL(d.Config)})
		},
	},
}

// consoleURL is the console's external base URL, for links in messages: PUBLIC_URL while the
// console is on, else none.
func consoleURL(c *Config) string {
	if !c.Users.Enabled() {
		return ""
	}
	return strings.TrimRight(c.Actions.PublicURL, "/")
}

// specText is the task's spec as configured.
func (td Task) specText() string { return getenv(td.Variable, td.Default) }

// FindTask returns the registry entry of the task named name.
func FindTask(name string) (Task, bool) {
	i := slices.IndexFunc(Tasks, func(td Task) bool { return td.Name == name })
	if i < 0 {
		return Task{}, false
	}
	return Tasks[i], true
}

// TaskNames lists the tasks' names, in registry order.
func TaskNames() []string {
	names := make([]string, len(Tasks))
	for i, td := range Tasks {
		names[i] = td.Name
	}
	return names
}

// SpecVariables names every task's spec variable, for the help of the commands that read them.
func SpecVariables() []string {
	out := make([]string, len(Tasks))
	for i, td := range Tasks {
		out[i] = td.Variable
	}
	return out
}

// taskList is TaskNames for messages.
func taskList() string { return strings.Join(TaskNames(), ", ") }
