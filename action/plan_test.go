package action

import (
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// The page's read and the action read and write one alert by key on a database with history
// (500 tenants, 5,000 responders, 20,000 alerts, each paged, acknowledged and resolved): EXPLAIN shows no sequential scan.
func TestQueryPlans(t *testing.T) {
	pool := dbtest.New(t)
	for _, sql := range []string{
		`insert into tenants (id, name) select 't' || i, 'T' || i from generate_series(1, 500) i`,
		`insert into tenants (id, name) values ('acme', 'Acme')`,
		`insert into responders (tenant_id, name) select 't' || (i % 500 + 1), 'r' || i from generate_series(1, 5000) i`,
		`insert into alerts (tenant_id, source, summary) select 'acme', 's', 'a' || i from generate_series(1, 20000) i`,
		`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step)
		 select 'acme', a.id, (select min(id) from responders), 'escalation', 0, 0 from alerts a`,
		`update alerts set status = 'acknowledged', acknowledged_by = 'x'`,
		`update alerts set status = 'resolved'`,
		`insert into alert_events (tenant_id, alert_id, at, event) select tenant_id, id, now(), 'escalated' from alerts`,
		`analyze`,
	} {
		dbtest.Exec(t, pool, sql)
	}
	tr := transitions[vocab.ActionResolve]
	now := time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
	for name, q := range map[string]struct {
		sql  string
		args []any
	}{
		"show": {showSQL, []any{int64(777), int64(3), string(vocab.AlertResolved)}},
		"act": {actSQL, []any{int64(777), int64(3), string(vocab.AlertResolved), string(tr.to), tr.from, now,
			string(vocab.AlertAcknowledged), string(tr.ev), string(vocab.ViaLink),
			alertchange.SettingVia, alertchange.SettingBy, alertchange.SettingAt, alertchange.AtText(now)}},
	} {
		if p := dbtest.Explain(t, pool, q.sql, q.args...); strings.Contains(p, "Seq Scan") || !strings.Contains(p, "alerts_pkey") || !strings.Contains(p, "followups_alert_idx") {
			t.Errorf("%s plan:\n%s", name, p)
		}
	}
}
