package scheduler

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/opsworker/opsworker/setting"
	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Scheduler. The zero value of every field means its default (WithDefaults);
// Validate refuses the values that are never right.
type Options struct {
	// Instance names this process in job_runs; default host name and process id. Give the pool's
	// connections ApplicationName(Instance), so the history can tell a live process from a dead
	// one.
	Instance string
	// Timeout is the deadline of one run (JOB_TIMEOUT), counted from the firing: getting a
	// connection and the job lock is part of it; default 5 minutes.
	Timeout time.Duration
	// ShutdownTimeout is how long Shutdown waits for running jobs before it cancels them
	// (SHUTDOWN_TIMEOUT); default 30 seconds. Shutdown's context may end the wait earlier.
	ShutdownTimeout time.Duration
	// StartTimeout bounds how long a firing may take to get its connection and lock and be
	// recorded; past it the firing is recorded as not started, and never runs later with a stale
	// now. Default 10 seconds, or Timeout if that is shorter; at most Timeout.
	StartTimeout time.Duration
	// Retention is how long job_runs rows are kept; default 30 days.
	Retention time.Duration
	// MaxPending bounds the history rows kept in memory while the database does not answer;
	// default 1,000. Beyond it the oldest are dropped (and counted).
	MaxPending int
	// Logger receives the scheduler's lines; default slog.Default().
	Logger *slog.Logger
	// Metrics receives the scheduler's series; default: registered on a private registry.
	Metrics *Metrics
	// Clock is what every wait and timestamp of the scheduler reads: firings, the coalescing of
	// wake-ups, heartbeats, deadlines, retries, the drain; default the real clock. Tests pass a
	// clockwork.FakeClock and advance it. A job's now is its firing time (see execute).
	Clock clockwork.Clock
}

// Defaults of Options.
const (
	DefaultTimeout         = 5 * time.Minute
	DefaultShutdownTimeout = 30 * time.Second
	DefaultStartTimeout    = 10 * time.Second
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultMaxPending      = 1000
)

// WithDefaults returns o with every zero field set to its default.
func (o Options) WithDefaults() Options {
	if o.Instance == "" {
		o.Instance = DefaultInstance()
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ShutdownTimeout == 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = min(DefaultStartTimeout, o.Timeout)
	}
	if o.Retention == 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	return o
}

// optionError names a bad option by its environment variable where there is one (for the line
// a person reads at start-up), else as a scheduler option.
func optionError(option, variable, value, reason string) *setting.Error {
	name := variable
	if name == "" {
		name = "scheduler option " + option
	}
	return &setting.Error{Name: name, Value: value, Reason: reason}
}

// Validate refuses options that are never right: a negative duration or bound, or a start timeout
// longer than the run's deadline. Zero fields are fine (they mean the default), so it may be
// called before or after WithDefaults. The error is a *setting.Error naming the option by its
// environment variable, as `JOB_TIMEOUT=-1m0s: must be a positive duration, such as 5m`.
func (o Options) Validate() error {
	for _, d := range []struct {
		option, variable, example string
		value                     time.Duration
	}{
		{"Timeout", "JOB_TIMEOUT", "5m", o.Timeout},
		{"ShutdownTimeout", "SHUTDOWN_TIMEOUT", "30s", o.ShutdownTimeout},
		{"StartTimeout", "", "10s", o.StartTimeout},
		{"Retention", "", "720h", o.Retention},
	} {
		if d.value < 0 {
			return optionError(d.option, d.variable, d.value.String(), "must be a positive duration, such as "+d.example)
		}
	}
	if o.MaxPending < 0 {
		return optionError("MaxPending", "", fmt.Sprint(o.MaxPending), "must be a positive number, such as 1000")
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if o.StartTimeout > timeout {
		return optionError("StartTimeout", "", o.StartTimeout.String(), fmt.Sprintf("must be at most the run's deadline (JOB_TIMEOUT=%s)", timeout))
	}
	return nil
}
