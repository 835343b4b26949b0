package report_test

import (
	"strings"
	"testing"

	"github.com/opsworker/opsworker/tasks/report"
)

// A report counts the deliveries of the day's pages by channel and outcome, and lists the pages
// that reached nobody: all deliveries failed, or no contact method.
func TestDeliveriesAndUnreachedPages(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	ann, bob := f.responder("acme", "Ann"), f.responder("acme", "Bob")
	a := f.alert("acme", "db", "2027-05-04T09:00:00Z", "", "")
	f.exec(`insert into contact_methods (tenant_id, responder_id, kind, address) values
		('acme', $1, 'webhook', 'https://a.example'), ('acme', $1, 'email', 'ann@acme.example'), ('acme', $2, 'webhook', 'https://b.example')`, ann, bob)
	page := func(responder int64, at, status, lastError string) int64 {
		return f.id(`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status, last_error, created_at)
			values ('acme', $1, $2, 'escalation', 0, $3, $4, nullif($5, ''), $6) returning id`, a, responder, f.id(`select count(*) from notifications`), status, lastError, ts(t, at))
	}
	delivery := func(page int64, kind, status string) {
		f.exec(`insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, finished_at)
			select 'acme', $1, cm.id, $2, $3, case when $3 = 'pending' then null else now() end
			from contact_methods cm join notifications n on n.responder_id = cm.responder_id where n.id = $1 and cm.kind = $2`, page, kind, status)
	}
	reached := page(ann, "2027-05-04T09:01:00Z", "sent", "")
	delivery(reached, "webhook", "sent")
	delivery(reached, "email", "failed")
	unreached := page(bob, "2027-05-04T10:00:00Z", "failed", "rejected: receiver answered 410")
	delivery(unreached, "webhook", "failed")
	retrying := page(ann, "2027-05-04T11:00:00Z", "pending", "")
	delivery(retrying, "webhook", "pending")
	delivery(retrying, "email", "cancelled")
	page(bob, "2027-05-05T00:30:00Z", "failed", "no_contact_method") // the next day: not in this report
	f.exec(`insert into responders (tenant_id, name) values ('acme', 'Cy')`)
	page(f.id(`select id from responders where name = 'Cy'`), "2027-05-04T12:00:00Z", "failed", "no_contact_method")

	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-05T00:10:00Z")
	b := f.report("acme", "2027-05-04T00:00:00Z").Body
	want := []report.DeliveryCount{{Channel: "email", Failed: 1, Cancelled: 1}, {Channel: "webhook", Sent: 1, Failed: 1, Pending: 1}}
	if g, w := jsonOf(t, b.Deliveries), jsonOf(t, want); g != w {
		t.Fatalf("deliveries:\n%s\nwant:\n%s", g, w)
	}
	if b.Pages.UnreachedTotal != 2 || len(b.Pages.Unreached) != 2 || b.Pages.Unreached[0].NotificationID != unreached ||
		b.Pages.Unreached[0].Name != "Bob" || b.Pages.Unreached[0].Reason != "rejected: receiver answered 410" ||
		b.Pages.Unreached[1].Name != "Cy" || b.Pages.Unreached[1].Reason != "no_contact_method" {
		t.Fatalf("unreached: %s", jsonOf(t, b.Pages))
	}
	text := f.report("acme", "2027-05-04T00:00:00Z").Text
	for _, want := range []string{"Deliveries: email 0 sent, 1 failed, 1 cancelled, 0 pending; webhook 1 sent, 1 failed, 0 cancelled, 1 pending",
		"Pages that reached nobody: 2", "10:00 Bob (alert"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}
