package worker

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// The handoff and heartbeats tasks run under serve from their registry entries alone, through
// the scheduler's lock and history, with their series on /metrics: a layer handing off a few
// seconds after start is told to its subscription; a silent monitor opens an alert that
// escalation pages; a ping on /heartbeat/<token> — served with the console off — resolves it.
func TestServeRunsHandoffAndHeartbeats(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	now := time.Now()
	exec := func(sql string, args ...any) {
		t.Helper()
		dbtest.Exec(t, pool, sql, args...)
	}
	exec(`insert into tenants (id, name) values ('acme', 'Acme')`)
	ann := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('acme', 'Ann') returning id`)
	sched := dbtest.Int64(t, pool, `insert into oncall_schedules (tenant_id, name) values ('acme', 'Primary') returning id`)
	exec(`insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
		values ($1, 'l', 1, $2, 1, 'hour', $3)`, sched, now.Add(4*time.Second), []int64{ann})
	exec(`insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) values ('acme', $1, 'webhook', 'https://team.example.com/')`, sched)
	policy := dbtest.Int64(t, pool, `insert into escalation_policies (tenant_id, name) values ('acme', 'p') returning id`)
	exec(`insert into escalation_steps (policy_id, position, delay_minutes) values ($1, 0, 5)`, policy)
	exec(`insert into escalation_step_targets (policy_id, position, responder_id) values ($1, 0, $2)`, policy, ann)
	const token = "serve-test-token-0123456789"
	exec(`insert into heartbeat_monitors (tenant_id, name, interval_seconds, escalation_policy_id, token, created_at)
		values ('acme', 'backup', 60, $1, $2, $3)`, policy, token, now.Add(-2*time.Minute))

	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("DELIVERY_WORKERS", "0")
	t.Setenv("REPORT_SCHEDULE", "off")
	t.Setenv("ESCALATION_SCHEDULE", "@every 1s")
	t.Setenv("HANDOFF_SCHEDULE", "@every 1s")
	t.Setenv("HEARTBEATS_SCHEDULE", "@every 1s")
	addr := "http://" + start(t).Addr().String()

	waitFor(t, pool, "the handoff notice", `select count(*) from handoff_notices h join deliveries d on d.source_id = h.id and d.message = 'notice'
		where h.schedule_id = $1 and h.kind = 'changed' and h.status = 'pending'`, sched)
	waitFor(t, pool, "the heartbeat alert's page", `select count(*) from notifications n join heartbeat_monitors m on m.alert_id = n.alert_id
		where n.responder_id = $1`, ann)
	if code, _ := httpGet(t, addr+"/heartbeat/"+token); code != http.StatusNoContent {
		t.Fatalf("ping: %d", code)
	}
	waitFor(t, pool, "the alert resolved", `select count(*) from alerts a join alert_events e on e.alert_id = a.id and e.event = 'resolved'
		where a.source = 'heartbeat' and a.status = 'resolved'`)
	for _, job := range []string{"handoff", "heartbeats"} {
		if n := dbtest.Int64(t, pool, `select count(*) from job_runs where job = $1 and trigger = 'schedule' and status = 'succeeded'`, job); n == 0 {
			t.Errorf("no scheduled run of %s in the history", job)
		}
	}
	_, metrics := httpGet(t, addr+"/metrics")
	for _, want := range []string{
		`opsworker_job_runs_total{outcome="succeeded",task="handoff",trigger="schedule"}`,
		`opsworker_job_runs_total{outcome="succeeded",task="heartbeats",trigger="schedule"}`,
		"opsworker_handoff_notices_total 1",
		"opsworker_heartbeats_alerts_opened_total 1",
		"opsworker_heartbeats_alerts_resolved_total 1",
		`opsworker_heartbeat_pings_total{outcome="recorded"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// waitFor waits (up to 20 s) until the count query answers at least 1.
func waitFor(t *testing.T, pool *pgxpool.Pool, what, sql string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for dbtest.Int64(t, pool, sql, args...) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 20 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// HANDOFF_LEAD is a duration from 0 to 168h; anything else stops start-up naming it.
func TestHandoffLeadSetting(t *testing.T) {
	for _, tc := range [][2]string{
		{"", ""}, // unset: the default
		{"0", ""},
		{"168h", ""},
		{"-1m", `configuration: HANDOFF_LEAD="-1m0s": must be a duration from 0 (at the change) to 168h, such as 15m`},
		{"169h", `configuration: HANDOFF_LEAD="169h0m0s": must be a duration from 0 (at the change) to 168h, such as 15m`},
		{"soon", `configuration: HANDOFF_LEAD="soon": not a duration (use a number with a unit: 30s, 5m, 1h)`},
	} {
		value, want := tc[0], tc[1]
		if value != "" {
			t.Setenv("HANDOFF_LEAD", value)
		}
		cfg, err := LoadConfig(at(t, "2027-01-01T00:00:00Z"))
		switch {
		case want == "" && err != nil:
			t.Errorf("HANDOFF_LEAD=%q: %v", value, err)
		case want == "" && value == "" && cfg.HandoffLead != 15*time.Minute:
			t.Errorf("default lead %s", cfg.HandoffLead)
		case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
			t.Errorf("HANDOFF_LEAD=%q: %v, want %s", value, err, want)
		}
	}
}
