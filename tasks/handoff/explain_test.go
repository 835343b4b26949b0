package handoff

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// The task's queries use their indexes on a database of a large deployment's size (20,000
// schedules with cursors, a subscription each, 50,000 responders, 100,000 notices): each plan names the
// index it was given.
func TestQueriesUseTheirIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 schedules")
	}
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `
insert into tenants (id, name) values ('t', 't');
insert into responders (tenant_id, name) select 't', 'r' || g from generate_series(1, 50000) g;
insert into contact_methods (tenant_id, responder_id, kind, address) select 't', id, 'webhook', 'https://h.example.com' from responders;
insert into oncall_schedules (tenant_id, name) select 't', 's' || g from generate_series(1, 20000) g;
insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) select 't', id, 'slack', 'https://h.example.com' from oncall_schedules;
insert into handoff_cursors (schedule_id, tenant_id, changed_through, upcoming_through, updated_at)
    select id, 't', '2027-05-03T10:00:00Z'::timestamptz - (id % 3) * interval '1 minute', '2027-05-03T10:15:00Z', '2027-05-03T10:00:00Z' from oncall_schedules;
insert into handoff_notices (tenant_id, schedule_id, change_at, kind, subscription_id, status, notice)
    select 't', s.id, '2026-05-03T00:00:00Z'::timestamptz + g * interval '1 day', 'changed', ss.id, 'sent', '{}'
    from schedule_subscriptions ss join oncall_schedules s on s.id = ss.schedule_id, generate_series(1, 5) g;
analyze;`)
	now := time.Date(2027, 5, 3, 10, 1, 0, 0, time.UTC)
	ids := make([]int64, 500)
	for i := range ids {
		ids[i] = int64(i*37 + 1)
	}
	for _, tc := range []struct {
		name, sql string
		args      []any
		index     string
	}{
		{"claim", claimSQL, []any{now, 500, int64(5000)}, "handoff_cursors_pkey"},
		// Once per run, every schedule's id against every cursor's: one anti-join (a few
		// milliseconds for 20,000), never a lookup per schedule.
		{"ensure cursors", ensureCursorsSQL, []any{now}, "Anti Join"},
		{"subscriptions", subscriptionsSQL, []any{ids}, "schedule_subscriptions_schedule_idx"},
		{"contact methods", contactMethodsSQL, []any{ids}, "contact_methods_responder_idx"},
		{"move cursors", moveSQL, []any{ids, now, now}, "handoff_cursors_pkey"},
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
