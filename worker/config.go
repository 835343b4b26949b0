package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kelseyhightower/envconfig"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/console"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/setting"
	"github.com/opsworker/opsworker/tasks/handoff"
)

// Env is the environment as DESIGN.md's configuration table defines it, but for the tasks' cron
// specs: each task's spec variable is named by its registry entry (Tasks). The desc tags are what
// --help prints.
type Env struct {
	DatabaseURL       string        `envconfig:"DATABASE_URL" default:"postgres://postgres@localhost:5432/postgres?sslmode=disable" desc:"pgx connection string; its password is never printed"`
	CronTZ            string        `envconfig:"CRON_TZ" default:"UTC" desc:"zone of specs without their own CRON_TZ= prefix"`
	JobTimeout        time.Duration `envconfig:"JOB_TIMEOUT" default:"5m" desc:"deadline of one run"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"how long SIGTERM waits for running jobs before cancelling them"`
	HTTPAddr          string        `envconfig:"HTTP_ADDR" default:":8080" desc:"address of /healthz, /readyz, /metrics, /heartbeat/<token> and (with CONSOLE_USERS) the console"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"text" desc:"text or json"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	Migrate           bool          `envconfig:"MIGRATE" default:"true" desc:"apply migrations at start"`
	ReportCatchupDays int           `envconfig:"REPORT_CATCHUP_DAYS" default:"7" desc:"how many finished days back the report task fills missing reports"`
	DatabaseWait      time.Duration `envconfig:"DATABASE_WAIT" default:"60s" desc:"how long start-up waits (with backoff) for the database before giving up"`

	EscalationOnNotify bool `envconfig:"ESCALATION_ON_NOTIFY" default:"true" desc:"also run escalation at once when an alert becomes due (a PostgreSQL notification)"`

	DeliveryWorkers       int           `envconfig:"DELIVERY_WORKERS" default:"20" desc:"concurrent sends per process; 0 disables delivery in this process"`
	DeliveryMaxAttempts   int           `envconfig:"DELIVERY_MAX_ATTEMPTS" default:"10" desc:"attempts before a delivery fails for good"`
	DeliveryTimeout       time.Duration `envconfig:"DELIVERY_TIMEOUT" default:"10s" desc:"deadline of one delivery attempt"`
	DeliveryAllowNetworks string        `envconfig:"DELIVERY_ALLOW_NETWORKS" default:"" desc:"CIDRs (with optional ports: 127.0.0.1/32:8090) webhook and Slack addresses may resolve to besides public ones; plain http only there"`
	DeliveryPerHost       int           `envconfig:"DELIVERY_PER_HOST" default:"4" desc:"attempts at once to one destination that has not answered yet or is slow"`
	DeliverySlowAfter     time.Duration `envconfig:"DELIVERY_SLOW_AFTER" default:"1s" desc:"how long an attempt may wait for its answer before its destination counts as slow"`
	DeliveryRetention     time.Duration `envconfig:"DELIVERY_RETENTION" default:"2160h" desc:"how long finished deliveries are kept (longer than REPORT_CATCHUP_DAYS)"`
	DeliveryJobRetention  time.Duration `envconfig:"DELIVERY_JOB_RETENTION" default:"24h" desc:"how long the delivery queue's finished River jobs are kept"`
	DeliverySlowLane      string        `envconfig:"DELIVERY_SLOW_LANE" default:"" desc:"attempts that may wait on slow destinations at once; empty: half of DELIVERY_WORKERS, rounded up"`
	SMTPURL               string        `envconfig:"SMTP_URL" default:"" desc:"smtp://[user:pass@]host:port (STARTTLS) or smtps://...; ?tls=opportunistic|none; empty: e-mail deliveries fail (no_smtp)"`
	SMTPFrom              string        `envconfig:"SMTP_FROM" default:"opsworker@localhost" desc:"sender address of page e-mails"`

	ConsoleUsers string `envconfig:"CONSOLE_USERS" default:"" desc:"user:bcrypt-hash pairs, comma-separated, for the web console and API under /ui/ and /api/v1/; empty: console off (404)"`

	HandoffLead   time.Duration `envconfig:"HANDOFF_LEAD" default:"15m" desc:"how long before a shift the responder coming on call is told it starts (0 to 168h; 0: at the change)"`
	PublicURL     string        `envconfig:"PUBLIC_URL" default:"" desc:"external base URL of serve (https://, or http:// on a loopback host); with ACTION_SECRET, pages carry acknowledge/resolve links to PUBLIC_URL/act/..."`
	ActionSecret  string        `envconfig:"ACTION_SECRET" default:"" desc:"base64 key (at least 32 random bytes) signing action links, or new,old during a rotation; empty: no links; never printed"`
	ActionLinkTTL time.Duration `envconfig:"ACTION_LINK_TTL" default:"24h" desc:"how long an action link stays valid, counted from its page (up to 720h)"`
}

// Config is the validated environment: everything the process needs, parsed once. Each
// package's options are built here and validated by the package itself.
type Config struct {
	Env
	// Zone is CRON_TZ.
	Zone *time.Location
	// Level is LOG_LEVEL.
	Level slog.Level
	// Pool is DATABASE_URL with the pool policy applied (see configurePool).
	Pool *pgxpool.Config
	// Specs are the tasks' specs by task name; nil: the task is off.
	Specs map[string]*scheduler.Spec
	// Loaded is when the configuration was read: specs' DST notes and intervals count from it.
	Loaded time.Time
	// Instance names this process in the run history and in its connections' application_name.
	Instance string
	// Scheduler are the scheduler's options from the environment (its logger and metrics are the
	// worker's to add).
	Scheduler scheduler.Options
	// Delivery are the delivery options from the environment (logger and metrics are the
	// worker's to add).
	Delivery delivery.Options
	// Users are CONSOLE_USERS; nil: the console is off.
	Users *console.Users
	// Actions are the action links' settings (PUBLIC_URL, ACTION_SECRET, ACTION_LINK_TTL), and
	// Links their signer: nil when links are off. Senders call Links.Links for each page.
	Actions action.Options
	Links   *action.Signer
}

// LoadConfig reads and validates the environment. It touches no database: a bad value must stop
// start-up before anything else happens. Its errors are *setting.Error, naming the variable.
func LoadConfig(now time.Time) (*Config, error) {
	var e Env
	if err := envconfig.Process("", &e); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, &setting.Error{Name: pe.KeyName, Value: pe.Value, Reason: parseReason(pe)}
		}
		return nil, fmt.Errorf("configuration: %w", err)
	}
	c := &Config{Env: e, Specs: map[string]*scheduler.Spec{}, Loaded: now, Instance: scheduler.DefaultInstance()}

	zone, err := civil.LoadLocation(e.CronTZ)
	if err != nil {
		return nil, &setting.Error{Name: "CRON_TZ", Value: e.CronTZ, Reason: err.Error()}
	}
	c.Zone = zone
	for _, td := range Tasks {
		text := td.specText()
		if strings.EqualFold(strings.TrimSpace(text), "off") {
			c.Specs[td.Name] = nil
			continue
		}
		spec, err := scheduler.ParseSpec(text, zone, now)
		if err != nil {
			return nil, &setting.Error{Name: td.Variable, Value: text, Reason: err.Error()}
		}
		c.Specs[td.Name] = &spec
	}
	if e.JobTimeout <= 0 {
		return nil, setting.Errorf("JOB_TIMEOUT", e.JobTimeout, "must be a positive duration, such as 5m")
	}
	if e.DatabaseWait < 0 {
		return nil, setting.Errorf("DATABASE_WAIT", e.DatabaseWait, "must be a duration of 0 (try once) or more, such as 60s")
	}
	if e.ShutdownTimeout <= 0 {
		return nil, setting.Errorf("SHUTDOWN_TIMEOUT", e.ShutdownTimeout, "must be a positive duration, such as 30s")
	}
	c.Scheduler = scheduler.Options{Instance: c.Instance, Timeout: e.JobTimeout, ShutdownTimeout: e.ShutdownTimeout}
	if err := c.Scheduler.Validate(); err != nil {
		return nil, err
	}
	if err := checkAddr(e.HTTPAddr); err != nil {
		return nil, setting.Errorf("HTTP_ADDR", e.HTTPAddr, "%v", err)
	}
	switch strings.ToLower(e.LogFormat) {
	case "text", "json":
		c.LogFormat = strings.ToLower(e.LogFormat)
	default:
		return nil, setting.Errorf("LOG_FORMAT", e.LogFormat, "must be text or json")
	}
	if err := c.Level.UnmarshalText([]byte(e.LogLevel)); err != nil || strings.ContainsAny(e.LogLevel, "+-") {
		return nil, setting.Errorf("LOG_LEVEL", e.LogLevel, "must be debug, info, warn or error")
	}
	if e.ReportCatchupDays < 1 || e.ReportCatchupDays > 366 {
		return nil, setting.Errorf("REPORT_CATCHUP_DAYS", e.ReportCatchupDays, "must be a whole number of days from 1 to 366")
	}
	if c.Delivery, err = deliveryOptions(e); err != nil {
		return nil, err
	}
	c.Actions = action.Options{PublicURL: e.PublicURL, Secret: e.ActionSecret, TTL: e.ActionLinkTTL}
	if c.Links, err = action.NewSigner(c.Actions); err != nil {
		return nil, err
	}
	if c.Users, err = console.ParseUsers(e.ConsoleUsers); err != nil {
		return nil, &setting.Error{Name: "CONSOLE_USERS", Value: redactUsers(e.ConsoleUsers), Reason: err.Error()}
	}
	if err := (handoff.Options{Lead: e.HandoffLead}).Validate(); err != nil {
		return nil, err
	}
	pool, err := pgxpool.ParseConfig(e.DatabaseURL)
	if err != nil {
		reason := "not a valid PostgreSQL connection string: " + err.Error()
		if len(redact.ConnSecrets(e.DatabaseURL)) > 0 {
			// pgx hides a password it can find, but not the pieces of one it cannot parse.
			reason = "not a valid PostgreSQL connection string (the parser's message is not shown: it could quote " +
				"the password; in a URL, percent-encode / ? # @ % and : in the user and password)"
		}
		return nil, &setting.Error{Name: "DATABASE_URL", Value: redact.ConnString(e.DatabaseURL), Reason: reason}
	}
	need := c.connsNeeded()
	if !strings.Contains(e.DatabaseURL, "pool_max_conns") {
		pool.MaxConns = max(pool.MaxConns, 10, need)
	} else if pool.MaxConns < need {
		return nil, &setting.Error{Name: "DATABASE_URL", Value: redact.ConnString(e.DatabaseURL),
			Reason: fmt.Sprintf("pool_max_conns=%d is too small: the enabled tasks need at least %d connections (%s)", pool.MaxConns, need, c.connsExplained())}
	}
	configurePool(pool, c.Instance)
	c.Pool = pool
	return c, nil
}

// deliveryOptions builds and validates delivery's options from the environment.
func deliveryOptions(e Env) (delivery.Options, error) {
	o := delivery.Options{Workers: e.DeliveryWorkers, MaxAttempts: e.DeliveryMaxAttempts, Timeout: e.DeliveryTimeout,
		PerHost: e.DeliveryPerHost, SlowAfter: e.DeliverySlowAfter, From: e.SMTPFrom, StopTimeout: e.ShutdownTimeout,
		Retention: delivery.RetentionOptions{Deliveries: e.DeliveryRetention, Jobs: e.DeliveryJobRetention}}
	// A late report counts its day's deliveries: they must outlive the catch-up.
	if catchup := time.Duration(e.ReportCatchupDays+2) * 24 * time.Hour; e.DeliveryRetention > 0 && e.DeliveryRetention < catchup {
		return o, setting.Errorf("DELIVERY_RETENTION", e.DeliveryRetention,
			"must be longer than REPORT_CATCHUP_DAYS (%d days) and two more, or a late report counts deliveries that are gone: at least %s", e.ReportCatchupDays, catchup)
	}
	if v := strings.TrimSpace(e.DeliverySlowLane); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return o, setting.Errorf("DELIVERY_SLOW_LANE", e.DeliverySlowLane, "must be a whole number from 1 up to DELIVERY_WORKERS, or empty for half of them")
		}
		o.SlowLane = n
	}
	var err error
	if o.AllowNetworks, err = delivery.ParseNetworks(e.DeliveryAllowNetworks); err != nil {
		return o, err
	}
	for _, n := range o.AllowNetworks {
		// A network this wide is not an exception but the end of the guard: 0.0.0.0/0 lets a
		// webhook reach loopback, every private network and the cloud's metadata address.
		if bits := n.Prefix.Bits(); (n.Prefix.Addr().Is4() && bits < 8) || (!n.Prefix.Addr().Is4() && bits < 16) {
			return o, setting.Errorf("DELIVERY_ALLOW_NETWORKS", e.DeliveryAllowNetworks,
				"%s covers public address space wholesale (it would let webhooks reach every address, cloud metadata included): name the networks your receivers are in, such as 10.0.0.0/8", n.Prefix)
		}
	}
	if o.SMTP, err = delivery.ParseSMTPURL(e.SMTPURL); err != nil {
		return o, &setting.Error{Name: "SMTP_URL", Value: redact.ConnString(e.SMTPURL), Reason: err.Error()}
	}
	// Only DELIVERY_SLOW_LANE takes its default here: every other field came from the environment,
	// where a zero is a mistake (DELIVERY_MAX_ATTEMPTS=0), not "the default".
	d := o.WithDefaults()
	d.MaxAttempts, d.Timeout, d.PerHost, d.SlowAfter = o.MaxAttempts, o.Timeout, o.PerHost, o.SlowAfter
	d.Retention = o.Retention
	if err := d.Validate(); err != nil {
		return o, err
	}
	return d, nil
}

// httpConns is what the HTTP side needs from the pool: /readyz's ping; and consoleConns what
// the console's pages and River UI read with, when it is on.
const (
	httpConns    = 1
	consoleConns = 1
)

// connsNeeded is the pool size below which enabled tasks would wait on each other for
// connections until JOB_TIMEOUT: what each enabled task's run holds at most (its registry
// entry's Conns), the delivery workers', plus the HTTP side's.
func (c *Config) connsNeeded() int32 {
	n := int32(httpConns + delivery.ConnsNeeded(c.DeliveryWorkers))
	if c.Users.Enabled() {
		n += consoleConns
	}
	if c.Links != nil {
		n += action.DefaultMaxQueries
	}
	for _, td := range Tasks {
		if c.Specs[td.Name] != nil {
			n += int32(td.Conns)
		}
	}
	return n
}

// connsExplained says how connsNeeded adds up, for the error message.
func (c *Config) connsExplained() string {
	var parts []string
	for _, td := range Tasks {
		if c.Specs[td.Name] != nil {
			parts = append(parts, fmt.Sprintf("%s %d", td.Name, td.Conns))
		}
	}
	if d := delivery.ConnsNeeded(c.DeliveryWorkers); d > 0 {
		parts = append(parts, fmt.Sprintf("delivery %d", d))
	}
	if c.Users.Enabled() {
		parts = append(parts, fmt.Sprintf("console %d", consoleConns))
	}
	if c.Links != nil {
		parts = append(parts, fmt.Sprintf("action links %d", action.DefaultMaxQueries))
	}
	parts = append(parts, fmt.Sprintf("/readyz %d", httpConns))
	return strings.Join(parts, ", ")
}

// Database names the database for messages, without the password.
func (c *Config) Database() string {
	cc := c.Pool.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", cc.User, cc.Host, cc.Port, cc.Database)
}

func parseReason(pe *envconfig.ParseError) string {
	switch pe.TypeName {
	case "time.Duration", "Duration":
		return "not a duration (use a number with a unit: 30s, 5m, 1h)"
	case "bool":
		return "not a boolean (use true or false)"
	case "int":
		return "not a whole number"
	}
	return pe.Err.Error()
}

func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("must be host:port or :port, such as :8080")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("the port must be a number from 0 to 65535")
	}
	return nil
}

// redactUsers shows CONSOLE_USERS for an error message with every hash, and anything that could
// be a password, hidden: the user names only.
func redactUsers(s string) string {
	entries := strings.Split(s, ",")
	for i, e := range entries {
		if name, _, ok := strings.Cut(strings.TrimSpace(e), ":"); ok {
			entries[i] = name + ":…"
		} else if strings.TrimSpace(e) != "" {
			entries[i] = "…"
		}
	}
	return strings.Join(entries, ",")
}

// Variable documents one environment variable, for --help.
type Variable struct {
	Name, Default, Meaning string
}

// Variables lists every variable opsworker reads: Env's fields, from their tags, and each task's
// spec variable, from the registry.
func Variables() []Variable {
	var out []Variable
	t := reflect.TypeFor[Env]()
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, Variable{f.Tag.Get("envconfig"), f.Tag.Get("default"), f.Tag.Get("desc")})
	}
	for _, td := range Tasks {
		out = append(out, Variable{td.Variable, td.Default, "cron spec of the " + td.Name + " task; off disables it"})
	}
	return out
}

// LookupVariable returns the documentation of the variable named name.
func LookupVariable(name string) (Variable, bool) {
	for _, v := range Variables() {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// getenv returns the variable's value, or def when it is not set at all (set and empty is a
// value, and for a spec an error).
func getenv(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
