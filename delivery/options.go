package delivery

import (
	"context"
	"log/slog"
	"net/mail"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/setting"
)

// Options configure delivery: how many attempts run at once, how long one may take, how often a
// delivery is tried, and where pages may go. Each field names the environment variable it comes
// from. Call WithDefaults, then Validate.
type Options struct {
	// Workers is how many deliveries this process attempts at once (DELIVERY_WORKERS, 0–1000;
	// the process's default is 20); 0 makes an insert-only service that queues deliveries for the
	// processes that work.
	Workers int
	// PerHost is the most attempts at once to one destination (host and port) that is new —
	// no answer from it yet — or slow (DELIVERY_PER_HOST, 1–1000); default 4. A destination that
	// answers within SlowAfter has no limit of its own. See "Isolation of destinations" in
	// lanes.go.
	PerHost int
	// SlowAfter is how long an attempt may wait for its answer before its destination counts as
	// slow (DELIVERY_SLOW_AFTER, 10ms up to DELIVERY_TIMEOUT); a tenth of it for a destination
	// that has not answered yet. Default 1s (DELIVERY_TIMEOUT if shorter).
	SlowAfter time.Duration
	// SlowLane is how many attempts may wait on slow destinations at once
	// (DELIVERY_SLOW_LANE, 1 up to DELIVERY_WORKERS); default half of DELIVERY_WORKERS, rounded
	// up. The other workers stay free for destinations that answer: at no time do more than
	// SlowLane attempts run longer than SlowAfter (one that would is cut short).
	SlowLane int
	// MaxAttempts is a delivery's attempts before it fails for good (DELIVERY_MAX_ATTEMPTS,
	// 1–100); default 10.
	MaxAttempts int
	// Timeout is the deadline of one attempt's send (DELIVERY_TIMEOUT, at most 5m); default 10s.
	Timeout time.Duration
	// AllowNetworks are the networks webhook and Slack addresses may resolve to besides public
	// ones, each with the ports it may be reached on (DELIVERY_ALLOW_NETWORKS, parsed by
	// ParseNetworks); plain http is allowed only there.
	AllowNetworks []Network
	// SMTP is where e-mails go (SMTP_URL); nil: e-mail deliveries fail with no_smtp.
	SMTP *SMTP
	// From is the sender address of e-mails (SMTP_FROM); default opsworker@localhost.
	From string
	// StopTimeout is how long Stop lets running attempts finish before cancelling them
	// (SHUTDOWN_TIMEOUT); default 30s.
	StopTimeout time.Duration
	// PeersDisagree reports whether any live process on the database has delivery settings
	// that differ from this one's (DELIVERY_ALLOW_NETWORKS above all), or whether that cannot
	// be known; the process fills it from the fleet's registration (worker_instances'
	// config_digest). While it returns true, a destination this process refuses is left for a
	// peer rather than failed (see "Refusals while the fleet disagrees" in peers.go). nil: the
	// fleet agrees, and refusals are final at once.
	PeersDisagree func(ctx context.Context) bool
	// Retention is how long finished deliveries and River's finished jobs are kept
	// (DELIVERY_RETENTION, DELIVERY_JOB_RETENTION); see RetentionOptions.
	Retention RetentionOptions
	// Links signs the acknowledge and resolve links every page carries (PUBLIC_URL,
	// ACTION_SECRET, ACTION_LINK_TTL: worker.Config.Links); nil: pages carry none.
	Links *action.Signer
	// Registerer receives the delivery series; nil: not exposed.
	Registerer prometheus.Registerer
	// Logger receives the workers' and River's lines; default slog.Default().
	Logger *slog.Logger
}

// defaultWorkers is DELIVERY_WORKERS' default, which the process sets.
const defaultWorkers = 20

// WithDefaults returns o with every unset field at its default.
func (o Options) WithDefaults() Options {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 10
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.From == "" {
		o.From = "opsworker@localhost"
	}
	if o.PerHost == 0 {
		o.PerHost = defaultPerHost
	}
	if o.SlowAfter == 0 {
		o.SlowAfter = min(defaultSlowAfter, o.Timeout)
	}
	if o.SlowLane == 0 {
		o.SlowLane = max(1, (o.Workers+1)/2)
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Retention = o.Retention.WithDefaults()
	return o
}

// Validate reports the first bad field, naming its variable.
func (o Options) Validate() error {
	switch {
	case o.Workers < 0 || o.Workers > 1000:
		return setting.Errorf("DELIVERY_WORKERS", o.Workers, "must be a whole number from 0 (no delivery here) to 1000")
	case o.MaxAttempts < 1 || o.MaxAttempts > 100:
		return setting.Errorf("DELIVERY_MAX_ATTEMPTS", o.MaxAttempts, "must be a whole number from 1 to 100")
	case o.Timeout <= 0 || o.Timeout > 5*time.Minute:
		return setting.Errorf("DELIVERY_TIMEOUT", o.Timeout, "must be a positive duration of at most 5m, such as 10s")
	case o.PerHost < 1 || o.PerHost > 1000:
		return setting.Errorf("DELIVERY_PER_HOST", o.PerHost, "must be a whole number from 1 to 1000")
	case o.SlowAfter < 10*time.Millisecond || o.SlowAfter > o.Timeout:
		return setting.Errorf("DELIVERY_SLOW_AFTER", o.SlowAfter, "must be a duration from 10ms up to DELIVERY_TIMEOUT (%v), such as 1s", o.Timeout)
	case o.SlowLane < 1 || (o.Workers > 0 && o.SlowLane > o.Workers):
		return setting.Errorf("DELIVERY_SLOW_LANE", o.SlowLane, "must be a whole number from 1 up to DELIVERY_WORKERS (%d)", max(o.Workers, 1))
	case o.StopTimeout <= 0:
		return setting.Errorf("SHUTDOWN_TIMEOUT", o.StopTimeout, "must be a positive duration, such as 30s")
	}
	if err := o.Retention.Validate(); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(o.From); err != nil {
		return setting.Errorf("SMTP_FROM", o.From, "not an e-mail address such as opsworker@example.com")
	}
	return nil
}
