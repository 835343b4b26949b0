package followups

import (
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// The task reads only what it needs on a database with history: 20,000 paged alerts whose
// changes were processed over 30 days, and a few new ones. EXPLAIN shows index scans only: the
// pending changes from followups_pending_idx, the recently processed ones from
// followups_processed_idx, their alerts, pages, deliveries and contact methods by key, and the
// follow-ups already queued from deliveries_message_once_idx.
func TestClaimQueryPlan(t *testing.T) {
	pool := dbtest.New(t)
	for _, sql := range []string{
		`insert into tenants (id, name) values ('acme', 'Acme')`,
		`insert into responders (tenant_id, name) select 'acme', 'r' || i from generate_series(1, 50) i`,
		`insert into contact_methods (tenant_id, responder_id, kind, address) select 'acme', id, 'webhook', 'https://x.example/' || id from responders`,
		`insert into alerts (tenant_id, source, summary) select 'acme', 's', 'a' || i from generate_series(1, 20000) i`,
		`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
		 select 'acme', a.id, (select min(id) from responders) + a.id % 50, 'escalation', 0, 0, 'sent' from alerts a`,
		`insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, finished_at)
		 select 'acme', n.id, cm.id, 'webhook', 'sent', now() from notifications n join contact_methods cm on cm.responder_id = n.responder_id`,
		`update alerts set status = 'acknowledged', acknowledged_by = 'x'`,
		// processed over the last 30 days
		`update followups set processed_at = now() - (id % 43200) * interval '1 minute', messages = 1`,
		`update alerts set status = 'resolved' where id % 4000 = 0`,
		`analyze`,
	} {
		dbtest.Exec(t, pool, sql)
	}
	p := dbtest.Explain(t, pool, claimSQL, DefaultBatchSize, string(vocab.MessagePage), string(vocab.DeliverySent))
	if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "followups_pending_idx") {
		t.Fatalf("claim plan:\n%s", p)
	}
	p = dbtest.Explain(t, pool, lateSQL, time.Now().Add(-LateWindow), string(vocab.MessagePage), string(vocab.DeliverySent),
		string(vocab.MessageFollowup))
	if strings.Contains(p, "Seq Scan") || !strings.Contains(p, "followups_processed_idx") || !strings.Contains(p, "deliveries_message_once_idx") {
		t.Fatalf("late recipients plan:\n%s", p)
	}
	p = dbtest.Explain(t, pool, doneSQL, []int64{1, 2, 3}, time.Now(), string(vocab.MessageFollowup))
	if strings.Contains(p, "Seq Scan") {
		t.Fatalf("done plan:\n%s", p)
	}
}
