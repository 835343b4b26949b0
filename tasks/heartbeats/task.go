package heartbeats

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/vocab"
)

// DefaultBatchSize is the number of monitors one transaction opens or resolves alerts for when
// Options.BatchSize is 0.
const DefaultBatchSize = 500

// Options configure a Task.
type Options struct {
	// Registerer receives the task's counters; nil: no metrics.
	Registerer prometheus.Registerer
	// BatchSize is the number of monitors per transaction; 0: DefaultBatchSize.
	BatchSize int
}

// Task is the heartbeats task, a scheduler.Job. It is safe to run from several replicas at once.
type Task struct {
	pool      *pgxpool.Pool
	batchSize int
	opened    prometheus.Counter
	resolved  prometheus.Counter
}

var _ scheduler.Job = (*Task)(nil)

// New returns the heartbeats task working on pool.
func New(pool *pgxpool.Pool, opts Options) *Task {
	size := opts.BatchSize
	if size <= 0 {
		size = DefaultBatchSize
	}
	return &Task{pool: pool, batchSize: size,
		opened:   scheduler.Counter(opts.Registerer, "heartbeats", "alerts_opened_total", "Alerts opened for heartbeat monitors silent longer than their interval."),
		resolved: scheduler.Counter(opts.Registerer, "heartbeats", "alerts_resolved_total", "Heartbeat alerts resolved because their monitor's pings returned."),
	}
}

// Name is the job's name: "heartbeats".
func (t *Task) Name() string { return "heartbeats" }

// silentSQL claims enabled monitors without an open alert whose last ping (or, never pinged,
// creation) is longer than their interval before now (heartbeat_monitors_watch_idx).
const silentSQL = `
select id, tenant_id, name, interval_seconds, escalation_policy_id, last_ping_at, created_at
from heartbeat_monitors
where enabled and alert_id is null
  and coalesce(last_ping_at, created_at) < $1::timestamptz - interval_seconds * interval '1 second'
order by id
limit $2
for update skip locked`

// openSQL opens one alert per claimed monitor and records it on the monitor: the alerts' ids are
// drawn first, so that each monitor gets its own without relying on the order of RETURNING.
// The alert is due at now: the escalation trigger (00008_wakeups.sql) wakes escalation.
const openSQL = `
with m as (
    select * from unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) as m (monitor_id, tenant_id, summary, policy_id)
), ids as (
    select m.*, nextval(pg_get_serial_sequence('alerts', 'id')) as alert_id from m
), opened as (
    insert into alerts (id, tenant_id, source, summary, status, escalation_policy_id, created_at, next_escalation_at)
    overriding system value
    select alert_id, tenant_id, $5, summary, $6, policy_id, $7, $7 from ids
)
update heartbeat_monitors h set alert_id = ids.alert_id
from ids where h.id = ids.monitor_id
returning h.id, h.tenant_id, h.alert_id`

// backSQL claims monitors whose pings returned after their alert opened, resolves those alerts
// still open (with their event), and lets go of them (heartbeat_monitors_alert_idx). An alert
// someone else resolved is only let go of.
const backSQL = `
with back as (
    select h.id, h.alert_id
    from heartbeat_monitors h join alerts a on a.id = h.alert_id
    where h.alert_id is not null and h.last_ping_at > a.created_at
    order by h.id
    limit $1
    for update of h, a skip locked
), resolved as (
    update alerts a set status = $2, resolved_at = $3
    from back b where a.id = b.alert_id and a.status <> $2
    returning a.id, a.tenant_id, a.escalation_pass, a.escalation_loop, a.escalation_step
), ev as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
    select tenant_id, id, $3, $4, escalation_pass, escalation_loop, escalation_step, $5::jsonb from resolved
)
update heartbeat_monitors h set alert_id = null
from back b where h.id = b.id
returning h.id, h.tenant_id, b.alert_id, b.alert_id in (select id from resolved)`

// silent is a claimed monitor.
type silent struct {
	ID              int64
	TenantID, Name  string
	IntervalSeconds int
	PolicyID        *int64
	LastPingAt      *time.Time
	CreatedAt       time.Time
}

// Summary is the summary of the alert a silent monitor opens: it names the monitor and the last
// ping (instants in UTC, RFC 3339).
func Summary(name string, interval time.Duration, lastPing *time.Time, created time.Time) string {
	every := oncall.Length(interval)
	if lastPing == nil {
		return fmt.Sprintf("heartbeat %q missed: never pinged since it was created at %s (expected every %s)",
			name, created.UTC().Format(time.RFC3339), every)
	}
	return fmt.Sprintf("heartbeat %q missed: last ping %s (expected every %s)", name, lastPing.UTC().Format(time.RFC3339), every)
}

// Run opens an alert for every silent monitor and resolves the alerts of those whose pings
// returned, in batches, each one transaction.
func (t *Task) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	log := scheduler.Logger(ctx)
	var opened, resolved, released int
	sum := func() scheduler.Summary {
		return scheduler.Summary{"alerts_opened": opened, "alerts_resolved": resolved, "released": released}
	}
	for {
		n, err := t.resolveBatch(ctx, log, now)
		if err != nil {
			return sum(), fmt.Errorf("heartbeats: resolve: %w", err)
		}
		resolved += n.resolved
		released += n.released
		if n.claimed < t.batchSize {
			break
		}
	}
	for {
		n, err := t.openBatch(ctx, log, now)
		if err != nil {
			return sum(), fmt.Errorf("heartbeats: open: %w", err)
		}
		opened += n
		if n < t.batchSize {
			break
		}
	}
	return sum(), nil
}

// openBatch opens the alerts of one batch of silent monitors and returns how many.
func (t *Task) openBatch(ctx context.Context, log *slog.Logger, now time.Time) (int, error) {
	var lines [][]any
	err := scheduler.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, silentSQL, now, t.batchSize)
		if err != nil {
			return err
		}
		monitors, err := pgx.CollectRows(rows, pgx.RowToStructByPos[silent])
		if err != nil || len(monitors) == 0 {
			return err
		}
		ids, tenants, summaries, policies := make([]int64, len(monitors)), make([]string, len(monitors)), make([]string, len(monitors)), make([]*int64, len(monitors))
		for i, m := range monitors {
			ids[i], tenants[i], policies[i] = m.ID, m.TenantID, m.PolicyID
			summaries[i] = Summary(m.Name, time.Duration(m.IntervalSeconds)*time.Second, m.LastPingAt, m.CreatedAt)
		}
		rows, err = tx.Query(ctx, openSQL, ids, tenants, summaries, policies, vocab.SourceHeartbeat, string(vocab.AlertTriggered), now)
		if err != nil {
			return err
		}
		var monitor, alert int64
		var tenant string
		_, err = pgx.ForEachRow(rows, []any{&monitor, &tenant, &alert}, func() error {
			lines = append(lines, []any{"tenant_id", tenant, "monitor_id", monitor, "alert_id", alert})
			return nil
		})
		return err
	})
	if err != nil {
		return 0, err
	}
	// Logged and counted once committed: never an alert that was rolled back.
	for _, l := range lines {
		log.Warn("heartbeat missed: alert opened", l...)
	}
	t.opened.Add(float64(len(lines)))
	return len(lines), nil
}

// closed is what one resolve batch did.
type closed struct{ claimed, resolved, released int }

// resolveBatch resolves the alerts of one batch of monitors whose pings returned.
func (t *Task) resolveBatch(ctx context.Context, log *slog.Logger, now time.Time) (closed, error) {
	var c closed
	var lines [][]any
	details, _ := json.Marshal(map[string]vocab.Via{"via": vocab.ViaHeartbeat})
	err := scheduler.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		c = closed{}
		lines = lines[:0]
		// The resolutions are status changes followups tells, as the heartbeat's.
		if err := alertchange.Attribute(ctx, tx, vocab.ViaHeartbeat, "", now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, backSQL, t.batchSize, string(vocab.AlertResolved), now, string(vocab.EventResolved), details)
		if err != nil {
			return err
		}
		var monitor, alert int64
		var tenant string
		var wasOpen bool
		_, err = pgx.ForEachRow(rows, []any{&monitor, &tenant, &alert, &wasOpen}, func() error {
			c.claimed++
			if wasOpen {
				c.resolved++
			} else {
				c.released++
			}
			lines = append(lines, []any{"tenant_id", tenant, "monitor_id", monitor, "alert_id", alert, "alert_resolved", wasOpen})
			return nil
		})
		return err
	})
	if err != nil {
		return closed{}, err
	}
	for _, l := range lines {
		log.Info("heartbeat pings returned", l...)
	}
	t.resolved.Add(float64(c.resolved))
	return c, nil
}
