package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/scheduler"
)

// DefaultCatchupDays is how many finished days back a run looks when Options.CatchupDays is 0
// (REPORT_CATCHUP_DAYS' default).
const DefaultCatchupDays = 7

// MaxCatchupDays bounds Options.CatchupDays: a year of missing days.
const MaxCatchupDays = 366

// Options configure a Task. The zero value is valid: WithDefaults fills in what is left unset,
// and Validate says what is wrong with the rest.
type Options struct {
	// Registerer receives the task's Prometheus counters; nil: no metrics.
	Registerer prometheus.Registerer
	// CatchupDays is how many finished local days back each tenant's missing reports are filled
	// (REPORT_CATCHUP_DAYS), 1 to MaxCatchupDays: 1 means only the day just finished. Older days
	// are never written, so a worker down for a month does not spend its first run on stale
	// reports. 0: DefaultCatchupDays.
	CatchupDays int
}

// WithDefaults returns o with every unset option at its default.
func (o Options) WithDefaults() Options {
	if o.CatchupDays == 0 {
		o.CatchupDays = DefaultCatchupDays
	}
	return o
}

// Validate returns an error naming the first option of o (after WithDefaults) that is out of
// range, or nil.
func (o Options) Validate() error {
	if o.CatchupDays < 1 || o.CatchupDays > MaxCatchupDays {
		return fmt.Errorf("report: CatchupDays %d: want 1 to %d (0: %d)", o.CatchupDays, MaxCatchupDays, DefaultCatchupDays)
	}
	return nil
}

// Task is the daily report task, a scheduler.Job. It is safe to run from several replicas at
// once: each report is inserted with ON CONFLICT DO NOTHING, so one of them wins. Its name is
// also how it leaves its own runs out of the run history it waits on (see writersSince).
type Task struct {
	pool    *pgxpool.Pool
	catchup int
	metrics *metrics
}

var (
	_ scheduler.Job   = (*Task)(nil)
	_ scheduler.Idler = (*Task)(nil)
)

// New returns the report task working on pool, with opts.WithDefaults(). Options that Validate
// rejects are a programming error (configuration is validated before anything starts): New
// panics on them.
func New(pool *pgxpool.Pool, opts Options) *Task {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	return &Task{pool: pool, catchup: opts.CatchupDays, metrics: newMetrics(opts.Registerer)}
}

// Name is the job's name: "report".
func (t *Task) Name() string { return "report" }

// tenant is a tenants row, with its zone loaded (loc nil when zoneErr is set).
type tenant struct {
	id, name, zone string
	createdAt      *time.Time // nil: an old tenant, age unknown
	loc            *time.Location
	zoneErr        error
}

// Run writes the missing daily reports of every tenant at now. A day is finished when its end is
// at or before now and no run of another job that may still write into it is in progress (see
// writersSQL); a missing day that has ended but is not finished in that sense is held back: left
// to a later run, logged at debug and counted (days_held_back). Tenants are independent: one that
// fails is logged and counted and the others go on. The run fails (returns an error) only when
// the database does: the tenants, running jobs or missing days could not be read, a tenant's query
// failed (after the other tenants were done), or ctx ended. Bad data alone (an unknown zone) does
// not fail the run; the summary and opsworker_report_tenants_failed_total show it.
//
// Every instant a report holds stays inside the supported range (civil.CheckRange): a now outside
// it fails the run before it reads anything, a day that would start before the range is not
// reported, and the look ahead for gaps stops at the range's end.
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	log := scheduler.Logger(ctx)
	var c counts
	if err := civil.CheckRange(now); err != nil {
		return c.summary(), fmt.Errorf("report: now: %w", err)
	}

	tenants, err := loadTenants(ctx, t.pool)
	if err != nil {
		return c.summary(), fmt.Errorf("report: %w", err)
	}
	c.tenants = len(tenants)
	// Read once, before any day's snapshot is taken. A run that registers after this read fired
	// (and stamps its rows) at most moments before now: the scheduler records a run in its history
	// as the run starts.
	writers, err := writersSince(ctx, t.pool, t.Name(), now)
	if err != nil {
		return c.summary(), fmt.Errorf("report: %w", err)
	}

	var candidates []day
	for _, tn := range tenants {
		if tn.zoneErr != nil {
			// Bad data: counted and logged, but not a failed run, since running again cannot fix it.
			t.failed(ctx, &c, tn, tn.zoneErr)
			continue
		}
		candidates = append(candidates, candidateDays(tn, now, t.catchup)...)
	}
	missing, covered, err := missingDays(ctx, t.pool, candidates)
	if err != nil {
		return c.summary(), fmt.Errorf("report: %w", err)
	}
	c.covered = covered
	if covered > 0 {
		log.Debug("days left unreported: reports of neighbouring dates, written under another zone, cover them entirely",
			"days_covered", covered)
	}
	missing, held := holdBack(missing, writers)
	c.heldBack = len(held)
	if len(held) > 0 {
		log.Debug("days held back: a run of another job still in progress may write into them; a later run writes them",
			"days_held_back", len(held), "running_since", writers)
	}

	// Past this point a tenant fails only because the database did (a broken schedule is part of
	// its report): the others go on, and the run fails at the end.
	var dbErrs []error
	for _, days := range byTenant(missing) {
		tn := days[0].tenant
		err := t.runTenant(ctx, tn, days, now, &c)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return c.summary(), fmt.Errorf("report: tenant %q: %w", tn.id, err)
		}
		t.failed(ctx, &c, tn, err)
		dbErrs = append(dbErrs, fmt.Errorf("tenant %q: %w", tn.id, err))
	}
	log.Debug("reports done", "tenants", c.tenants, "reports_written", c.written, "days_held_back", c.heldBack, "tenants_failed", c.tenantsFailed)
	if len(dbErrs) > 0 {
		return c.summary(), fmt.Errorf("report: %d tenants failed: %w", len(dbErrs), errors.Join(dbErrs...))
	}
	return c.summary(), nil
}

// failed logs and counts a tenant failure.
func (t *Task) failed(ctx context.Context, c *counts, tn *tenant, err error) {
	scheduler.Logger(ctx).Error("tenant report failed", "tenant_id", tn.id, "error", err)
	c.tenantsFailed++
	t.metrics.tenantsFailed.Inc()
}

// runTenant writes the reports of one tenant's missing days. days come most recent first, as
// candidateDays made them; they are written oldest first (the next to leave the catch-up window),
// each starting where the one written before it ended (see tile). The tenant's schedules are
// loaded once for all of them, with what matters from the oldest day's start on. It stops at the
// first day that fails.
func (t *Task) runTenant(ctx context.Context, tn *tenant, days []day, now time.Time, c *counts) error {
	log := scheduler.Logger(ctx)
	scheds, err := loadSchedules(ctx, t.pool, tn.id, days[len(days)-1].start)
	if err != nil {
		return err
	}
	for id, err := range scheds.bad {
		log.Warn("schedule left out of reports", "tenant_id", tn.id, "schedule_id", id, "error", err)
	}
	c.schedulesFailed += len(scheds.bad)
	var written *day
	for i := len(days) - 1; i >= 0; i-- {
		d := days[i]
		if written != nil {
			d.follows(*written)
			if !d.end.After(d.start) {
				c.covered++
				continue
			}
		}
		body, err := t.compute(ctx, d, scheds, now)
		if err != nil {
			return fmt.Errorf("day %s: %w", d.date, err)
		}
		wrote, err := insert(ctx, t.pool, d, body, render(body))
		if err != nil {
			return fmt.Errorf("day %s: %w", d.date, err)
		}
		if !wrote {
			reported, err := dateReported(ctx, t.pool, d)
			if err != nil {
				return fmt.Errorf("day %s: %w", d.date, err)
			}
			if reported {
				// By a replica, from the same neighbours: the next day follows it the same way.
				written = &d
				log.Debug("report already written", "tenant_id", tn.id, "day", d.date.String())
			} else {
				log.Warn("report not written: the report of another date starts at the same instant (reports written before they were tiled overlap)",
					"tenant_id", tn.id, "day", d.date.String(), "period_start", d.start)
			}
			continue
		}
		written = &d
		c.written++
		t.metrics.written.Inc()
		if d.ordinal > 1 {
			c.caughtUp++
		}
		log.Info("report written", "tenant_id", tn.id, "day", d.date.String(), "hours", body.Period.Hours,
			"alerts", body.Alerts.Triggered, "pages", body.Pages.Total)
	}
	return nil
}

const tenantsSQL = `select id, name, time_zone, created_at from tenants order by id`

// loadTenants reads every tenant and loads its zone; an unknown zone is kept on the tenant, to
// fail it alone.
func loadTenants(ctx context.Context, pool *pgxpool.Pool) ([]*tenant, error) {
	rows, err := pool.Query(ctx, tenantsSQL)
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*tenant, error) {
		tn := &tenant{}
		err := r.Scan(&tn.id, &tn.name, &tn.zone, &tn.createdAt)
		return tn, err
	})
	if err != nil {
		return nil, fmt.Errorf("load tenants: %w", err)
	}
	for _, tn := range tenants {
		tn.loc, tn.zoneErr = civil.LoadLocation(tn.zone)
	}
	return tenants, nil
}

// byTenant splits days, grouped by tenant as candidateDays made them, into one slice per tenant.
func byTenant(days []day) [][]day {
	var out [][]day
	for i := 0; i < len(days); {
		j := i + 1
		for j < len(days) && days[j].tenant == days[i].tenant {
			j++
		}
		out = append(out, days[i:j])
		i = j
	}
	return out
}

// counts is what a run did, for its summary.
type counts struct {
	tenants, written, caughtUp, heldBack, covered, tenantsFailed, schedulesFailed int
}

// summary: reports_written counts inserted reports, days_caught_up those of them for days
// before the most recent day that ended by now, days_held_back the missing days that ended by
// now but were left for a later run because a run of another job may still write into them,
// days_covered the missing days left unreported because reports of neighbouring dates, written
// under another zone, already cover all of them, tenants_failed the tenants that got no report they needed, schedules_failed the broken
// schedules reported as errors inside reports.
func (c counts) summary() scheduler.Summary {
	return scheduler.Summary{
		"tenants":          c.tenants,
		"reports_written":  c.written,
		"days_caught_up":   c.caughtUp,
		"days_held_back":   c.heldBack,
		"days_covered":     c.covered,
		"tenants_failed":   c.tenantsFailed,
		"schedules_failed": c.schedulesFailed,
	}
}

// Idle reports whether a run with summary s wrote nothing and met no failure: the tenants it
// looked at and the days it held back are not work done.
func (t *Task) Idle(s scheduler.Summary) bool {
	for _, k := range []string{"reports_written", "tenants_failed", "schedules_failed"} {
		if n, _ := s[k].(int); n != 0 {
			return false
		}
	}
	return true
}
