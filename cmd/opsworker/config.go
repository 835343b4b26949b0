package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/kelseyhightower/envconfig"

	"github.com/opsworker/opsworker/scheduler"
	opsql "github.com/opsworker/opsworker/sql"
)

// env is the environment as DESIGN.md's configuration table defines it.
type env struct {
	DatabaseURL        string        `envconfig:"DATABASE_URL" default:"postgres://postgres@localhost:5432/postgres?sslmode=disable"`
	EscalationSchedule string        `envconfig:"ESCALATION_SCHEDULE" default:"@every 1m"`
	ReportSchedule     string        `envconfig:"REPORT_SCHEDULE" default:"@daily"`
	CronTZ             string        `envconfig:"CRON_TZ" default:"UTC"`
	JobTimeout         time.Duration `envconfig:"JOB_TIMEOUT" default:"5m"`
	ShutdownTimeout    time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"30s"`
	HTTPAddr           string        `envconfig:"HTTP_ADDR" default:":8080"`
	LogFormat          string        `envconfig:"LOG_FORMAT" default:"text"`
	LogLevel           string        `envconfig:"LOG_LEVEL" default:"info"`
	Migrate            bool          `envconfig:"MIGRATE" default:"true"`
	ReportCatchupDays  int           `envconfig:"REPORT_CATCHUP_DAYS" default:"7"`
}

// config is the validated environment: everything a subcommand needs, parsed once.
type config struct {
	env
	zone   *time.Location
	level  slog.Level
	pool   *pgxpool.Config
	specs  map[string]*scheduler.Spec // by task name; nil: the task is off
	vars   map[string]string          // task name → the variable holding its spec
	loaded time.Time
}

// configError names the variable, its value and what is wrong with it: the one line a person
// needs to fix a bad deployment.
type configError struct {
	variable, value, reason string
}

func (e *configError) Error() string {
	return fmt.Sprintf("configuration: %s=%q: %s", e.variable, e.value, e.reason)
}

// taskVars lists the tasks and the variables holding their specs, in the order they are shown.
var taskVars = []struct{ task, variable string }{
	{"escalation", "ESCALATION_SCHEDULE"},
	{"report", "REPORT_SCHEDULE"},
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
	c := &config{env: e, specs: map[string]*scheduler.Spec{}, vars: map[string]string{}, loaded: now}

	zone, err := loadZone(e.CronTZ)
	if err != nil {
		return nil, &configError{"CRON_TZ", e.CronTZ, err.Error()}
	}
	c.zone = zone
	for _, tv := range taskVars {
		text := map[string]string{"ESCALATION_SCHEDULE": e.EscalationSchedule, "REPORT_SCHEDULE": e.ReportSchedule}[tv.variable]
		c.vars[tv.task] = tv.variable
		if strings.EqualFold(strings.TrimSpace(text), "off") {
			c.specs[tv.task] = nil
			continue
		}
		spec, err := scheduler.ParseSpec(text, zone, now)
		if err != nil {
			return nil, &configError{tv.variable, text, err.Error()}
		}
		c.specs[tv.task] = &spec
	}
	if e.JobTimeout <= 0 {
		return nil, &configError{"JOB_TIMEOUT", e.JobTimeout.String(), "must be a positive duration, such as 5m"}
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
	if e.ReportCatchupDays < 1 || e.ReportCatchupDays > 366 {
		return nil, &configError{"REPORT_CATCHUP_DAYS", strconv.Itoa(e.ReportCatchupDays), "must be a whole number of days from 1 to 366"}
	}
	pool, err := pgxpool.ParseConfig(e.DatabaseURL)
	if err != nil {
		reason := "not a valid PostgreSQL connection string: " + err.Error()
		if len(opsql.Secrets(e.DatabaseURL)) > 0 {
			// pgx hides a password it can find, but not the pieces of one it cannot parse.
			reason = "not a valid PostgreSQL connection string (the parser's message is not shown: it could quote " +
				"the password; in a URL, percent-encode / ? # @ % and : in the user and password)"
		}
		return nil, &configError{"DATABASE_URL", opsql.Redact(e.DatabaseURL), reason}
	}
	// Each running job holds a connection for its lock and needs at least one to work; /readyz
	// needs one more. Fewer would leave jobs waiting on each other until JOB_TIMEOUT.
	need := int32(1)
	for _, spec := range c.specs {
		if spec != nil {
			need += 2
		}
	}
	if !strings.Contains(e.DatabaseURL, "pool_max_conns") {
		pool.MaxConns = max(pool.MaxConns, 10)
	} else if pool.MaxConns < need {
		return nil, &configError{"DATABASE_URL", opsql.Redact(e.DatabaseURL),
			fmt.Sprintf("pool_max_conns=%d is too small: the enabled tasks need at least %d connections (two each, one for /readyz)", pool.MaxConns, need)}
	}
	c.pool = pool
	return c, nil
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
