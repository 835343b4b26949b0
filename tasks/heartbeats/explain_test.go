package heartbeats

import (
	"crypto/sha256"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// The task's and the ping's queries use their indexes among 20,000 monitors (a few with open
// alerts, a few disabled): each plan names the index it was given.
func TestQueriesUseTheirIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 monitors")
	}
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `
insert into tenants (id, name) values ('t', 't');
insert into alerts (tenant_id, source, summary, created_at) select 't', 'heartbeat', 'a' || g, '2027-05-03T09:00:00Z' from generate_series(1, 100) g;
insert into heartbeat_monitors (tenant_id, name, interval_seconds, token, enabled, last_ping_at, created_at)
    select 't', 'm' || g, 300, 'token-' || lpad(g::text, 12, '0'), g % 50 <> 0, '2027-05-03T10:00:00Z', '2027-01-01T00:00:00Z'
    from generate_series(1, 20000) g;
update heartbeat_monitors set alert_id = id where id <= 100;
analyze;`)
	now := time.Date(2027, 5, 3, 10, 1, 0, 0, time.UTC)
	digest := sha256.Sum256([]byte("token-000000000042"))
	for _, tc := range []struct {
		name, sql string
		args      []any
		index     string
	}{
		{"silent", silentSQL, []any{now, 500}, "heartbeat_monitors_watch_idx"},
		{"back", backSQL, []any{500, "resolved", now, "resolved", []byte(`{}`)}, "heartbeat_monitors_alert_idx"},
		{"ping", pingSQL, []any{digest[:], now}, "heartbeat_monitors_token_sha256_idx"},
	} {
		plan := dbtest.Explain(t, pool, tc.sql, tc.args...)
		if os.Getenv("OPSWORKER_EXPLAIN") == "1" {
			t.Logf("%s:\n%s", tc.name, plan)
		}
		if !strings.Contains(plan, tc.index) {
			t.Errorf("%s does not use %s:\n%s", tc.name, tc.index, plan)
		}
	}
}
