package heartbeats

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// State is how a monitor is doing at an instant.
type State string

// States of a monitor.
const (
	StateUp       State = "up"       // pinged within its interval
	StateNew      State = "new"      // never pinged, created less than an interval ago
	StateDown     State = "down"     // silent longer than its interval: an alert is open, or opens on the next run
	StateDisabled State = "disabled" // never alerts
)

// Monitor is a heartbeat monitor as the CLI and the console show it: never its token.
type Monitor struct {
	ID                 int64      `json:"id"`
	TenantID           string     `json:"tenant_id"`
	Name               string     `json:"name"`
	IntervalSeconds    int        `json:"interval_seconds"`
	EscalationPolicyID *int64     `json:"escalation_policy_id"`
	Enabled            bool       `json:"enabled"`
	LastPingAt         *time.Time `json:"last_ping_at"`
	CreatedAt          time.Time  `json:"created_at"`
	State              State      `json:"state"`
	// Alert is the open outage's alert (its status may have been changed by people since).
	Alert *AlertRef `json:"alert"`
}

// AlertRef names an alert and its status.
type AlertRef struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// listSQL reads every monitor of tenant ($1; empty: every tenant) with its open alert.
const listSQL = `
select m.id, m.tenant_id, m.name, m.interval_seconds, m.escalation_policy_id, m.enabled, m.last_ping_at, m.created_at,
       m.alert_id, coalesce(a.status, '')
from heartbeat_monitors m left join alerts a on a.id = m.alert_id
where $1 = '' or m.tenant_id = $1
order by m.tenant_id, m.name, m.id`

// List returns the monitors of tenant (empty: every tenant), with their state at now.
func List(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, tenant string, now time.Time) ([]Monitor, error) {
	rows, err := q.Query(ctx, listSQL, tenant)
	if err != nil {
		return nil, fmt.Errorf("list heartbeat monitors: %w", err)
	}
	out := []Monitor{}
	var m Monitor
	var alert *int64
	var status string
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.TenantID, &m.Name, &m.IntervalSeconds, &m.EscalationPolicyID, &m.Enabled,
		&m.LastPingAt, &m.CreatedAt, &alert, &status}, func() error {
		x := m
		if alert != nil {
			x.Alert = &AlertRef{ID: *alert, Status: status}
		}
		x.State = x.stateAt(now)
		out = append(out, x)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list heartbeat monitors: %w", err)
	}
	return out, nil
}

// stateAt is m's state at now, by the task's rule.
func (m Monitor) stateAt(now time.Time) State {
	interval := time.Duration(m.IntervalSeconds) * time.Second
	switch {
	case !m.Enabled:
		return StateDisabled
	case m.LastPingAt != nil && !m.LastPingAt.Add(interval).Before(now):
		return StateUp
	case m.LastPingAt == nil && !m.CreatedAt.Add(interval).Before(now):
		return StateNew
	}
	return StateDown
}
