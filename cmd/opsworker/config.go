package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kelseyhightower/envconfig"

	"github.com/opsworker/opsworker/console"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/scheduler"
)

// env is the environment as DESIGN.md's configuration table defines it, but for the tasks' cron
// specs: each task's spec variable is named by its registry entry (tasks.go). The desc tags are
// what --help prints.
type env struct {
	DatabaseURL       string        `envconfig:"DATABASE_URL" default:"postgres://postgres@localhost:5432/postgres?sslmode=disable" desc:"pgx connection string; its password is never printed"`
	CronTZ            string        `envconfig:"CRON_TZ" default:"UTC" desc:"zone of specs without their own CRON_TZ= prefix"`
	JobTimeout        time.Duration `envconfig:"JOB_TIMEOUT" default:"5m" desc:"deadline of one run"`
	ShutdownTimeout   time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s" desc:"how long SIGTERM waits for running jobs before cancelling them"`
	HTTPAddr          string        `envconfig:"HTTP_ADDR" default:":8080" desc:"address of /healthz, /readyz, /metrics and (with CONSOLE_USERS) the console"`
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"text" desc:"text or json"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info" desc:"debug, info, warn or error"`
	Migrate           bool          `envconfig:"MIGRATE" default:"true" desc:"apply migrations at start"`
	ReportCatchupDays int           `envconfig:"REPORT_CATCHUP_DAYS" default:"7" desc:"how many finished days back the report task fills missing reports"`
	DatabaseWait      time.Duration `envconfig:"DATABASE_WAIT" default:"60s" desc:"how long start-up waits (with backoff) for the database before giving up"`

	EscalationOnNotify bool `envconfig:"ESCALATION_ON_NOTIFY" default:"true" desc:"also run escalation at once when an alert becomes due (a PostgreSQL notification)"`

	DeliveryWorkers       int           `envconfig:"DELIVERY_WORKERS" default:"20" desc:"concurrent sends per process; 0 disables delivery in this process"`
	DeliveryMaxAttempts   int           `envconfig:"DELIVERY_MAX_ATTEMPTS" default:"10" desc:"attempts before a delivery fails for good"`
	DeliveryTimeout       time.Duration `envconfig:"DELIVERY_TIMEOUT" default:"10s" desc:"deadline of one delivery attempt"`
	DeliveryAllowNetworks string        `envconfig:"DELIVERY_ALLOW_NETWORKS" default:"" desc:"CIDRs webhook and Slack addresses may resolve to besides public ones; plain http only there"`
	SMTPURL               string        `envconfig:"SMTP_URL" default:"" desc:"smtp://[user:pass@]host:port (STARTTLS) or smtps://...; ?tls=opportunistic|none; empty: e-mail deliveries fail (no_smtp)"`
	SMTPFrom              string        `envconfig:"SMTP_FROM" default:"opsworker@localhost" desc:"sender address of page e-mails"`

	ConsoleUsers string `envconfig:"CONSOLE_USERS" default:"" desc:"user:bcrypt-hash pairs, comma-separated, for the web console and API under /ui/ and /api/v1/; empty: console off (404)"`
}

// config is the validated environment: everything a subcommand needs, parsed once.
type config struct {
	env
	zone   *time.Location
	level  slog.Level
	pool   *pgxpool.Config
	specs  map[string]*scheduler.Spec // by task name; nil: the task is off
	loaded time.Time
	// instance names this process in the run history and in its connections' application_name.
	instance string
	allow    []netip.Prefix // DELIVERY_ALLOW_NETWORKS
	smtp     *delivery.SMTP // SMTP_URL; nil: none
	users    *console.Users // CONSOLE_USERS; nil: the console is off
}

// configError names the variable, its value and what is wrong with it: the one line a person
// needs to fix a bad deployment.
type configError struct {
	variable, value, reason string
}

func (e *configError) Error() string {
	return fmt.Sprintf("configuration: %s=%q: %s", e.variable, e.value, e.reason)
}

// loadConfig reads and validates the environment. It touches no database: a bad value must stop
// start-up before anything else happens.
func loadConfig(now time.Time) (*config, error) {
	var e env
	if err := envconfig.Process("", &e); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return nil, &configError{pe.KeyName, pe.Value, parseReason(pe)}
		}
		return nil, fmt.Errorf("configuration: %w", err)
	}
	c := &config{env: e, specs: map[string]*scheduler.Spec{}, loaded: now, instance: scheduler.DefaultInstance()}

	zone, err := loadZone(e.CronTZ)
	if err != nil {
		return nil, &configError{"CRON_TZ", e.CronTZ, err.Error()}
	}
	c.zone = zone
	for _, td := range registry {
		text := td.specText()
		if strings.EqualFold(strings.TrimSpace(text), "off") {
			c.specs[td.Name] = nil
			continue
		}
		spec, err := scheduler.ParseSpec(text, zone, now)
		if err != nil {
			return nil, &configError{td.Variable, text, err.Error()}
		}
		c.specs[td.Name] = &spec
	}
	if e.JobTimeout <= 0 {
		return nil, &configError{"JOB_TIMEOUT", e.JobTimeout.String(), "must be a positive duration, such as 5m"}
	}
	if e.DatabaseWait < 0 {
		return nil, &configError{"DATABASE_WAIT", e.DatabaseWait.String(), "must be a duration of 0 (try once) or more, such as 60s"}
	}
	if e.ShutdownTimeout <= 0 {
		return nil, &configError{"SHUTDOWN_TIMEOUT", e.ShutdownTimeout.String(), "must be a positive duration, such as 30s"}
	}
	if err := checkAddr(e.HTTPAddr); err != nil {
		return nil, &configError{"HTTP_ADDR", e.HTTPAddr, err.Error()}
	}
	switch strings.ToLower(e.LogFormat) {
	case "text", "json":
		c.LogFormat = strings.ToLower(e.LogFormat)
	default:
		return nil, &configError{"LOG_FORMAT", e.LogFormat, "must be text or json"}
	}
	if err := c.level.UnmarshalText([]byte(e.LogLevel)); err != nil || strings.ContainsAny(e.LogLevel, "+-") {
		return nil, &configError{"LOG_LEVEL", e.LogLevel, "must be debug, info, warn or error"}
	}
	if e.DeliveryWorkers < 0 || e.DeliveryWorkers > 1000 {
		return nil, &configError{"DELIVERY_WORKERS", strconv.Itoa(e.DeliveryWorkers), "must be a whole number from 0 (no delivery here) to 1000"}
	}
	if e.DeliveryMaxAttempts < 1 || e.DeliveryMaxAttempts > 100 {
		return nil, &configError{"DELIVERY_MAX_ATTEMPTS", strconv.Itoa(e.DeliveryMaxAttempts), "must be a whole number from 1 to 100"}
	}
	if e.DeliveryTimeout <= 0 || e.DeliveryTimeout > 5*time.Minute {
		return nil, &configError{"DELIVERY_TIMEOUT", e.DeliveryTimeout.String(), "must be a positive duration of at most 5m, such as 10s"}
	}
	if c.allow, err = parseNetworks(e.DeliveryAllowNetworks); err != nil {
		return nil, &configError{"DELIVERY_ALLOW_NETWORKS", e.DeliveryAllowNetworks, err.Error()}
	}
	if c.smtp, err = delivery.ParseSMTPURL(e.SMTPURL); err != nil {
		return nil, &configError{"SMTP_URL", redact.ConnString(e.SMTPURL), err.Error()}
	}
	if c.users, err = console.ParseUsers(e.ConsoleUsers); err != nil {
		return nil, &configError{"CONSOLE_USERS", redactUsers(e.ConsoleUsers), err.Error()}
	}
	if _, err := mail.ParseAddress(e.SMTPFrom); err != nil {
		return nil, &configError{"SMTP_FROM", e.SMTPFrom, "not an e-mail address such as opsworker@example.com"}
	}
	if e.ReportCatchupDays < 1 || e.ReportCatchupDays > 366 {
		return nil, &configError{"REPORT_CATCHUP_DAYS", strconv.Itoa(e.ReportCatchupDays), "must be a whole number of days from 1 to 366"}
	}
	pool, err := pgxpool.ParseConfig(e.DatabaseURL)
	if err != nil {
		reason := "not a valid PostgreSQL connection string: " + err.Error()
		if len(redact.ConnSecrets(e.DatabaseURL)) > 0 {
			// pgx hides a password it can find, but not the pieces of one it cannot parse.
			reason = "not a valid PostgreSQL connection string (the parser's message is not shown: it could quote " +
				"the password; in a URL, percent-encode / ? # @ % and : in the user and password)"
		}
		return nil, &configError{"DATABASE_URL", redact.ConnString(e.DatabaseURL), reason}
	}
	need := c.connsNeeded()
	if !strings.Contains(e.DatabaseURL, "pool_max_conns") {
		pool.MaxConns = max(pool.MaxConns, 10, need)
	} else if pool.MaxConns < need {
		return nil, &configError{"DATABASE_URL", redact.ConnString(e.DatabaseURL),
			fmt.Sprintf("pool_max_conns=%d is too small: the enabled tasks need at least %d connections (%s)", pool.MaxConns, need, c.connsExplained())}
	}
	configurePool(pool, c.instance)
	c.pool = pool
	return c, nil
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
func (c *config) connsNeeded() int32 {
	n := int32(httpConns + delivery.ConnsNeeded(c.DeliveryWorkers))
	if c.users.Enabled() {
		n += consoleConns
	}
	for _, td := range registry {
		if c.specs[td.Name] != nil {
			n += int32(td.Conns)
		}
	}
	return n
}

// connsExplained says how connsNeeded adds up, for the error message.
func (c *config) connsExplained() string {
	var parts []string
	for _, td := range registry {
		if c.specs[td.Name] != nil {
			parts = append(parts, fmt.Sprintf("%s %d", td.Name, td.Conns))
		}
	}
	if d := delivery.ConnsNeeded(c.DeliveryWorkers); d > 0 {
		parts = append(parts, fmt.Sprintf("delivery %d", d))
	}
	if c.users.Enabled() {
		parts = append(parts, fmt.Sprintf("console %d", consoleConns))
	}
	parts = append(parts, fmt.Sprintf("/readyz %d", httpConns))
	return strings.Join(parts, ", ")
}

// database names the database for messages, without the password.
func (c *config) database() string {
	cc := c.pool.ConnConfig
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

func loadZone(name string) (*time.Location, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("empty: name an IANA time zone such as UTC or Europe/Berlin")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errors.New("unknown time zone: name an IANA time zone such as UTC or Europe/Berlin")
	}
	return loc, nil
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

// parseNetworks parses DELIVERY_ALLOW_NETWORKS: CIDRs (or single addresses), separated by commas
// or spaces.
func parseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", f)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// variable documents one environment variable, for --help.
type variable struct {
	Name, Default, Meaning string
}

// variables lists every variable opsworker reads: env's fields, from their tags, and each task's
// spec variable, from the registry.
func variables() []variable {
	var out []variable
	t := reflect.TypeFor[env]()
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, variable{f.Tag.Get("envconfig"), f.Tag.Get("default"), f.Tag.Get("desc")})
	}
	for _, td := range registry {
		out = append(out, variable{td.Variable, td.Default, "cron spec of the " + td.Name + " task; off disables it"})
	}
	return out
}

// lookupVariable returns the documentation of the variable named name.
func lookupVariable(name string) (variable, bool) {
	for _, v := range variables() {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

// getenv returns the variable's value, or def when it is not set at all (set and empty is a
// value, and for a spec an error).
func getenv(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}
