package followups_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/alertchange"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/followups"
	"github.com/opsworker/opsworker/vocab"
)

// A change of a paged alert is told once to every contact method that was sent a page of it and
// has status_updates: not to one that opted out, one that is disabled, one whose page failed or
// was never sent, nor to anyone for an alert that was never paged. Each message is queued with its
// River job and carries the change as it was (type, alert status, who, via, when); the change is
// then processed, and a rerun queues nothing.
func TestFollowupsReachEveryonePaged(t *testing.T) {
	f := newFixture(t)
	carol, bo, dan, eve := f.responder("Carol"), f.responder("Bo"), f.responder("Dan"), f.responder("Eve")
	carolHook := f.method(carol, "webhook", "https://hooks.example.com/carol", true)
	carolMail := f.method(carol, "email", "carol@example.com", false) // opted out of status updates
	boSlack := f.method(bo, "slack", "https://hooks.slack.com/services/T/B/x", true)
	danHook := f.method(dan, "webhook", "https://hooks.example.com/dan", true)
	eveHook := f.method(eve, "webhook", "https://hooks.example.com/eve", true)
	eveOff := f.method(eve, "email", "eve@example.com", true)

	a := f.alert("db-1: disk 95% full")
	f.page(a, carol, 0, "sent", carolHook, carolMail)
	f.page(a, bo, 1, "sent", boSlack)
	f.page(a, bo, 1+1, "sent", boSlack) // paged twice through the same method: told once
	f.page(a, dan, 1, "failed", danHook)
	f.page(a, eve, 1, "sent", eveHook, eveOff)
	f.exec(`update contact_methods set enabled = false where id = $1`, eveOff)
	quiet := f.alert("never paged")

	task := f.task(followups.Options{ConsoleURL: "https://ops.example.com"})
	f.exec(`update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'Ann (API)' where id = $1`, a, t0.Add(2*time.Minute))
	f.exec(`update alerts set status = 'resolved', resolved_at = $2 where id = $1`, quiet, t0.Add(2*time.Minute))
	s := f.run(task, t0.Add(3*time.Minute))
	if s["changes"] != 1 || s["messages"] != 3 {
		t.Fatalf("summary %v, want one change told to three contact methods", s)
	}
	msgs := f.messages(a)
	got := map[int64]bool{}
	for _, m := range msgs {
		got[m.ContactMethod] = true
		b := m.Body
		if b.Type != "alert.acknowledged" || b.Alert.ID != a || b.Alert.Status != "acknowledged" || b.Alert.Summary != "db-1: disk 95% full" ||
			b.By == nil || *b.By != "Ann (API)" || b.Via != "service" || !b.At.Equal(t0.Add(2*time.Minute)) ||
			b.Links == nil || b.Links.Console != "https://ops.example.com/ui/alerts/"+strconv.FormatInt(a, 10) {
			t.Errorf("message to %d: %+v", m.ContactMethod, b)
		}
	}
	if len(msgs) != 3 || !got[carolHook] || !got[boSlack] || !got[eveHook] {
		t.Fatalf("told %v; want Carol's webhook, Bo's Slack and Eve's webhook only", got)
	}
	if n := f.id(`select count(*) from river_job where kind = 'delivery' and (args->>'delivery_id')::bigint = any($1)`, ids(msgs)); n != 3 {
		t.Fatalf("%d River jobs for 3 messages", n)
	}
	if n := f.id(`select count(*) from followups where processed_at is null`); n != 0 {
		t.Fatalf("%d changes left unprocessed", n)
	}
	if n := f.id(`select messages from followups where alert_id = $1`, a); n != 3 {
		t.Fatalf("the change records %d messages", n)
	}
	if s := f.run(task, t0.Add(4*time.Minute)); s["changes"] != 0 || s["messages"] != 0 {
		t.Fatalf("rerun: %v", s)
	}
	if n := len(f.messages(a)); n != 3 {
		t.Fatalf("%d messages after a rerun", n)
	}
}

func ids(msgs []message) []int64 {
	out := make([]int64, len(msgs))
	for i, m := range msgs {
		out[i] = m.DeliveryID
	}
	return out
}

// Each change names who made it and how: a responder through an action link (via link, by their
// name), another service (via service, by its acknowledged_by, or nobody for a resolution), the
// ack timeout (alert.retriggered via ack_timeout, as the escalation task attributes it).
func TestFollowupsNameWhoAndHow(t *testing.T) {
	f := newFixture(t)
	carol := f.responder("Carol")
	hook := f.method(carol, "webhook", "https://hooks.example.com/carol", true)
	byLink, byService, byTimeout := f.alert("by link"), f.alert("by service"), f.alert("by ack timeout")
	for _, a := range []int64{byLink, byService, byTimeout} {
		f.page(a, carol, 0, "sent", hook)
	}

	// Carol acknowledges from her page's link, then resolves it from the other.
	signer, err := action.NewSigner(action.Options{PublicURL: "https://ops.example.com", TTL: time.Hour,
		Secret: base64.StdEncoding.EncodeToString([]byte("followups test key, 32 bytes ok!"))})
	if err != nil {
		t.Fatal(err)
	}
	clock := t0.Add(5 * time.Minute)
	h, err := action.NewHandler(action.HandlerOptions{Pool: f.pool, Signer: signer, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	links := signer.Links(byLink, carol, t0)
	for _, link := range []string{links.Acknowledge, links.Resolve} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, strings.TrimPrefix(link, "https://ops.example.com"), nil))
		if rec.Code != 200 {
			t.Fatalf("POST %d", rec.Code)
		}
	}
	// Another service acknowledges, then resolves without naming anyone.
	f.exec(`update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'Ann (API)' where id = $1`, byService)
	f.exec(`update alerts set status = 'resolved', resolved_at = now() where id = $1`, byService)
	// The ack timeout: acknowledged by a service, then returned to triggered by the escalation
	// task's ack timeout pass, which attributes its change.
	f.exec(`update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'Ann (API)' where id = $1`, byTimeout, t0)
	tx, err := f.pool.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := alertchange.Attribute(context.Background(), tx, vocab.ViaAckTimeout, "", t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(context.Background(), `update alerts set status = 'triggered', acknowledged_at = null, acknowledged_by = null where id = $1`, byTimeout); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}

	f.run(f.task(followups.Options{}), t0.Add(31*time.Minute))
	type told struct{ typ, by, via, status string }
	saw := func(a int64) []told {
		var out []told
		for _, m := range f.messages(a) {
			by := ""
			if m.Body.By != nil {
				by = *m.Body.By
			}
			if m.Body.Links != nil {
				t.Errorf("a console link without the console: %+v", m.Body.Links)
			}
			out = append(out, told{m.Body.Type, by, m.Body.Via, string(m.Body.Alert.Status)})
		}
		return out
	}
	for name, tc := range map[string]struct {
		alert int64
		want  []told
	}{
		"link":        {byLink, []told{{"alert.acknowledged", "Carol", "link", "acknowledged"}, {"alert.resolved", "Carol", "link", "resolved"}}},
		"service":     {byService, []told{{"alert.acknowledged", "Ann (API)", "service", "acknowledged"}, {"alert.resolved", "", "service", "resolved"}}},
		"ack timeout": {byTimeout, []told{{"alert.acknowledged", "Ann (API)", "service", "acknowledged"}, {"alert.retriggered", "", "ack_timeout", "triggered"}}},
	} {
		if got := saw(tc.alert); len(got) != len(tc.want) || got[0] != tc.want[0] || got[1] != tc.want[1] {
			t.Errorf("%s: told %+v, want %+v", name, got, tc.want)
		}
	}
	for _, m := range f.messages(byLink) {
		if !m.Body.At.Equal(clock) {
			t.Errorf("the link's change is stamped %s, want the handler's clock %s", m.Body.At, clock)
		}
	}
	for _, m := range f.messages(byTimeout)[1:] {
		if !m.Body.At.Equal(t0.Add(30 * time.Minute)) {
			t.Errorf("the ack timeout's change is stamped %s", m.Body.At)
		}
	}
}

// Two runs at once — two replicas, or a wake-up beside a cron firing — share the changes without
// overlap (FOR UPDATE SKIP LOCKED): every change is told to every recipient exactly once.
func TestFollowupsExactlyOnceAcrossConcurrentRuns(t *testing.T) {
	f := newFixture(t)
	const alerts = 300
	carol, bo := f.responder("Carol"), f.responder("Bo")
	carolHook, boHook := f.method(carol, "webhook", "https://hooks.example.com/carol", true), f.method(bo, "webhook", "https://hooks.example.com/bo", true)
	f.exec(`insert into alerts (tenant_id, source, summary) select 'acme', 'load', 'alert ' || i from generate_series(1, $1) i`, alerts)
	f.exec(`insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
	        select 'acme', a.id, r, 'escalation', 0, 0, 'sent' from alerts a, unnest($1::bigint[]) r`, []int64{carol, bo})
	f.exec(`insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, finished_at)
	        select 'acme', n.id, case when n.responder_id = $1 then $2::bigint else $3::bigint end, 'webhook', 'sent', now() from notifications n`,
		carol, carolHook, boHook)
	f.exec(`update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'Ann'`)
	f.exec(`update alerts set status = 'resolved', resolved_at = now()`)

	var wg sync.WaitGroup
	sums := make([]scheduler.Summary, 2)
	for i := range sums {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = f.run(f.task(followups.Options{BatchSize: 25}), t0)
		}()
	}
	wg.Wait()
	if c := sums[0]["changes"].(int) + sums[1]["changes"].(int); c != 2*alerts {
		t.Fatalf("changes processed %v + %v, want %d", sums[0], sums[1], 2*alerts)
	}
	if n := f.id(`select count(*) from deliveries where message = 'followup'`); n != 4*alerts {
		t.Fatalf("%d follow-ups, want %d", n, 4*alerts)
	}
	if n := f.id(`select count(*) from (select 1 from deliveries d join followups u on u.id = d.source_id
	                                    where d.message = 'followup' group by u.alert_id, u.status, d.contact_method_id having count(*) > 1) x`); n != 0 {
		t.Fatalf("%d (alert, change, contact method) told twice", n)
	}
	if n := f.id(`select count(*) from river_job where kind = 'delivery'`); n != 4*alerts {
		t.Fatalf("%d River jobs", n)
	}
}

// A run without a delivery queue fails rather than marking changes processed unsaid.
func TestFollowupsNeedTheQueue(t *testing.T) {
	f := newFixture(t)
	if _, err := followups.New(f.pool, followups.Options{}).Run(f.ctx, t0); err == nil {
		t.Fatal("ran without a queue")
	}
}

// A page whose attempt was in flight when its alert changed is marked sent only after the change
// was processed: the next run tells it then, once (within LateWindow). A page queued after the
// change — the alert was triggered again and paged someone new — is not told of the change.
func TestFollowupsReachPagesSentAfterTheChange(t *testing.T) {
	f := newFixture(t)
	carol, bo, dan := f.responder("Carol"), f.responder("Bo"), f.responder("Dan")
	carolHook, boHook := f.method(carol, "webhook", "https://hooks.example.com/carol", true), f.method(bo, "webhook", "https://hooks.example.com/bo", true)
	danHook := f.method(dan, "webhook", "https://hooks.example.com/dan", true)
	a := f.alert("db-1: disk 95% full")
	f.page(a, carol, 0, "pending", carolHook) // its attempt is in flight
	f.page(a, bo, 0, "sent", boHook)
	task := f.task(followups.Options{})

	f.exec(`update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'Ann (API)' where id = $1`, a)
	now := t0.Add(time.Minute)
	if s := f.run(task, now); s["messages"] != 1 || s["late_messages"] != 0 {
		t.Fatalf("first run: %v, want Bo told", s)
	}
	f.exec(`update deliveries set status = 'sent', finished_at = now() where contact_method_id = $1`, carolHook)
	if s := f.run(task, now.Add(time.Minute)); s["changes"] != 0 || s["late_messages"] != 1 {
		t.Fatalf("after Carol's page was sent: %v, want her told late", s)
	}
	if s := f.run(task, now.Add(2*time.Minute)); s["late_messages"] != 0 {
		t.Fatalf("a third run: %v", s)
	}
	if n := f.id(`select messages from followups where alert_id = $1`, a); n != 2 {
		t.Fatalf("the change counts %d messages, want 2", n)
	}

	// Triggered again by another service, then a new page to Dan, sent: Dan is told neither of
	// the acknowledgement nor of the re-trigger; Carol and Bo are told of the re-trigger.
	f.exec(`update alerts set status = 'triggered', acknowledged_at = null, acknowledged_by = null where id = $1`, a)
	if s := f.run(task, now.Add(3*time.Minute)); s["changes"] != 1 || s["messages"] != 2 {
		t.Fatalf("the re-trigger: %v", s)
	}
	f.page(a, dan, 1, "sent", danHook)
	if s := f.run(task, now.Add(4*time.Minute)); s["late_messages"] != 0 {
		t.Fatalf("a page after the change was told of it: %v", s)
	}

	// Past LateWindow a late page is not told any more.
	b := f.alert("api: 5xx")
	f.page(b, carol, 0, "pending", carolHook)
	f.exec(`update alerts set status = 'resolved', resolved_at = now() where id = $1`, b)
	f.run(task, now.Add(5*time.Minute))
	f.exec(`update deliveries set status = 'sent', finished_at = now() where notification_id in (select id from notifications where alert_id = $1)`, b)
	if s := f.run(task, now.Add(5*time.Minute+followups.LateWindow+time.Second)); s["late_messages"] != 0 {
		t.Fatalf("past the window: %v", s)
	}
	var got []string
	for _, id := range []int64{a, b} {
		for _, m := range f.messages(id) {
			got = append(got, fmt.Sprintf("%d:%s", m.ContactMethod, m.Body.Type))
		}
	}
	want := []string{fmt.Sprintf("%d:alert.acknowledged", carolHook), fmt.Sprintf("%d:alert.acknowledged", boHook),
		fmt.Sprintf("%d:alert.retriggered", carolHook), fmt.Sprintf("%d:alert.retriggered", boHook)}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("told %v, want %v", got, want)
	}
}
