package delivery

import (
	"os"
	"strings"
	"testing"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// The hot path's statements use their indexes on a queue of a large deployment's size (200,000
// deliveries of 100,000 pages to 20,000 responders, with follow-ups and notices): each plan names
// the index it was given, and none scans deliveries whole.
func TestHotPathUsesItsIndexes(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 deliveries")
	}
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `
insert into tenants (id, name) values ('t', 't');
insert into responders (tenant_id, name) select 't', 'r' || g from generate_series(1, 20000) g;
insert into contact_methods (tenant_id, responder_id, kind, address) select 't', id, k, 'https://h.example.com'
    from responders, unnest(array['webhook', 'email']) k;
insert into alerts (tenant_id, source, summary) select 't', 's', 'a' || g from generate_series(1, 50000) g;
insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
    select 't', a.id, 1 + (a.id * 7 + s) % 20000, 'escalation', 0, s, 'sent' from alerts a, generate_series(0, 1) s;
insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, sent_at, finished_at)
    select 't', n.id, c.id, c.kind, 'sent', now(), now() from notifications n join contact_methods c on c.responder_id = n.responder_id;
insert into oncall_schedules (tenant_id, name) values ('t', 's');
insert into handoff_notices (tenant_id, schedule_id, change_at, kind, responder_id, notice)
    select 't', 1, now() + g * interval '1 minute', 'upcoming', g, '{}' from generate_series(1, 1000) g;
insert into deliveries (tenant_id, message, source_id, contact_method_id, kind, payload)
    select 't', 'notice', h.id, c.id, c.kind, '{}' from handoff_notices h join contact_methods c on c.responder_id = h.responder_id;
insert into deliveries (tenant_id, message, source_id, contact_method_id, kind, payload)
    select 't', 'followup', a.id, c.id, c.kind, jsonb_build_object('alert', jsonb_build_object('id', a.id))
    from alerts a join contact_methods c on c.responder_id = 1 + (a.id * 7) % 20000 where a.id <= 2000;
analyze;`)
	followup := dbtest.Int64(t, pool, `select max(id) from deliveries where message = 'followup' and kind = 'email'`)
	notice := dbtest.Int64(t, pool, `select max(id) from deliveries where message = 'notice'`)
	page := dbtest.Int64(t, pool, `select max(id) from deliveries where message = 'page'`)
	for _, tc := range []struct {
		name, sql string
		args      []any
		want      []string
	}{
		{"load a follow-up e-mail", loadSQL, []any{followup, vocab.MessageFollowup, "email", vocab.MessagePage, vocab.DeliverySent},
			[]string{"deliveries_pkey", "notifications_page_key", "deliveries_notification_id_contact_method_id_key"}},
		{"record a notice's delivery", recordSQL, recordArgs(notice, outcome{status: vocab.DeliveryFailed, errText: "x", attempts: 1, added: 1}),
			[]string{"deliveries_pkey", "handoff_notices_pkey", "deliveries_message_once_idx"}},
		{"record a page's delivery", recordSQL, recordArgs(page, outcome{status: vocab.DeliveryFailed, errText: "x", attempts: 1, added: 1}),
			[]string{"deliveries_pkey", "notifications_pkey", "deliveries_notification_id_contact_method_id_key"}},
	} {
		plan := dbtest.Explain(t, pool, tc.sql, tc.args...)
		if os.Getenv("OPSWORKER_EXPLAIN") == "1" {
			t.Logf("%s:\n%s", tc.name, plan)
		}
		for _, index := range tc.want {
			if !strings.Contains(plan, index) {
				t.Errorf("%s does not use %s:\n%s", tc.name, index, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan on deliveries") {
			t.Errorf("%s scans deliveries:\n%s", tc.name, plan)
		}
	}
}
