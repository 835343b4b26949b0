package delivery

import (
	"context"
	"log/slog"
	"net/mail"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/setting"
)

// Options configure delivery: how many attempts run at once, how long one may take, how often a
// delivery is tried, and where pages may go. Each field names the environment variable it comes
// from. Call WithDefaults, then Validate.
type Options struct {
	// Workers is how many deliveries this process attempts at once (DELIVERY_WORKERS, 0–1000);
	// 0 makes an insert-only service that queues deliveries for the processes that work.
	Workers int
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
	// Registerer receives the delivery series; nil: not exposed.
	Registerer prometheus.Registerer
	// Logger receives the workers' and River's lines; default slog.Default().
	Logger *slog.Logger
}

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
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
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
	case o.StopTimeout <= 0:
		return setting.Errorf("SHUTDOWN_TIMEOUT", o.StopTimeout, "must be a positive duration, such as 30s")
	}
	if _, err := mail.ParseAddress(o.From); err != nil {
		return setting.Errorf("SMTP_FROM", o.From, "not an e-mail address such as opsworker@example.com")
	}
	return nil
}
