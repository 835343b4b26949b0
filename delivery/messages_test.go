package delivery_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/vocab"
)

// slackish is a Slack incoming webhook stand-in that keeps every message it is posted.
type slackish struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []map[string]any
}

func newSlackish(t *testing.T) *slackish {
	s := &slackish{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg map[string]any
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, msg)
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *slackish) last(t *testing.T) map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) == 0 {
		t.Fatal("nothing was posted to Slack")
	}
	return s.msgs[len(s.msgs)-1]
}

// parts are an e-mail's text and HTML parts, by media type.
func parts(t *testing.T, m *mail.Message) map[string]string {
	t.Helper()
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out[ct] = string(b)
	}
	return out
}

// methodsOf are the contact methods of responder by kind.
func (f *fixture) methodsOf(responder int64) map[string]int64 {
	rows, _ := f.pool.Query(f.ctx, `select kind, id from contact_methods where responder_id = $1`, responder)
	out := map[string]int64{}
	var kind string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&kind, &id}, func() error { out[kind] = id; return nil }); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// queueMessages queues msgs as a task does, in one transaction, and returns their deliveries'
// ids by recipient (contact method, or minus the subscription).
func (f *fixture) queueMessages(msgs ...delivery.Message) map[int64]int64 {
	f.t.Helper()
	err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		_, err := delivery.NewEnqueuer(f.insertOnly(), 10).EnqueueMessages(f.ctx, tx, msgs)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	rows, _ := f.pool.Query(f.ctx, `select coalesce(contact_method_id, -subscription_id), id from deliveries where message <> 'page'`)
	out := map[int64]int64{}
	var to, id int64
	if _, err := pgx.ForEachRow(rows, []any{&to, &id}, func() error { out[to] = id; return nil }); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// A follow-up goes over every channel and is never cancelled by the acknowledgement it tells
// of, while a page still pending then is: the webhook posts DESIGN's alert.acknowledged body
// (the queued follow-up, delivery_id, tenant_id), signed, webhook-id the delivery's id; Slack
// gets its sentence, escaped, its time in the tenant's zone; the e-mail replies in the thread of
// the page sent to the same address (In-Reply-To and References: that page's Message-ID).
func TestFollowupOverEachChannel(t *testing.T) {
	f := newFixture(t)
	dbtest.Exec(t, f.pool, `update tenants set time_zone = 'Europe/Berlin' where id = 'acme'`)
	rcv := newReceiver(t)
	sl := newSlackish(t)
	srv := newSMTPServer(t)
	smtpURL, err := delivery.ParseSMTPURL("smtp://" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	ann := f.responder("acme", "Ann", "webhook", rcv.URL, "slack", sl.URL+"/services/T0/B0/x", "email", "ann@acme.example")
	page := f.page("acme", ann)
	alert := alertOf(t, f, page)
	_, sent := f.enqueue(page)
	w := f.worker(2*time.Second, smtpURL, fixedClock, loopback...)
	for _, id := range sent {
		if err := f.work(w, id, 1); err != nil {
			t.Fatal(err)
		}
	}
	<-rcv.got
	<-srv.got
	later := f.page("acme", ann) // a second page of another alert, still pending at its alert's acknowledgement
	dbtest.Exec(t, f.pool, `update notifications set alert_id = $1, escalation_step = 1 where id = $2`, alert, later)
	_, pending := f.enqueue(later)

	dbtest.Exec(t, f.pool, `update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'Carol' where id = $1`, alert, t0.Add(2*time.Minute))
	by := "Carol <!channel>"
	fu := &delivery.Followup{Type: string(vocab.FollowupAcknowledged), By: &by, Via: string(vocab.ViaLink), At: t0.Add(2 * time.Minute),
		Alert: delivery.AlertInfo{ID: alert, Summary: "disk 95% full", Source: "db-1", Severity: "critical", Status: vocab.AlertAcknowledged, CreatedAt: t0}}
	var msgs []delivery.Message
	methods := f.methodsOf(ann)
	for _, cm := range methods {
		msgs = append(msgs, delivery.Message{Kind: vocab.MessageFollowup, TenantID: "acme", SourceID: 1, ContactMethodID: cm, Followup: fu})
	}
	followups := f.queueMessages(msgs...)
	for _, id := range followups {
		if err := f.work(w, id, 1); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range pending {
		if err := f.work(w, id, 1); err != nil {
			t.Fatal(err)
		}
		if r := f.delivery(id); r.Status != "cancelled" || deref(r.LastError) != "alert_acknowledged" {
			t.Errorf("a page pending at the acknowledgement: %s %v", r.Status, deref(r.LastError))
		}
	}
	for kind, cm := range methods {
		if r := f.delivery(followups[cm]); r.Status != "sent" {
			t.Errorf("%s follow-up: %+v", kind, r)
		}
	}

	got := <-rcv.got
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil || got.VerifyErr != nil {
		t.Fatalf("webhook: %v %v", err, got.VerifyErr)
	}
	a, _ := body["alert"].(map[string]any)
	if got.ID != itoa(followups[methods["webhook"]]) || body["type"] != "alert.acknowledged" || body["delivery_id"] != float64(followups[methods["webhook"]]) ||
		body["tenant_id"] != "acme" || body["by"] != by || body["via"] != "link" || body["at"] != "2027-05-03T10:02:00Z" || a["id"] != float64(alert) {
		t.Errorf("webhook-id %s, body %s", got.ID, got.Body)
	}

	text, _ := sl.last(t)["text"].(string)
	want := "Alert " + itoa(alert) + " [critical] disk 95% full was acknowledged by Carol &lt;!channel&gt; (via link) at 12:02 CEST"
	if text != want {
		t.Errorf("Slack text %q, want %q", text, want)
	}

	<-srv.got
	m := srv.msgs[len(srv.msgs)-1]
	pageMail := dbtest.Int64(t, f.pool, `select id from deliveries where notification_id = $1 and contact_method_id = $2`, page, methods["email"])
	thread := "<delivery-" + itoa(pageMail) + ".acme.example>"
	if m.Header.Get("In-Reply-To") != thread || m.Header.Get("References") != thread ||
		m.Header.Get("Subject") != "Re: [critical] disk 95% full (alert "+itoa(alert)+")" ||
		m.Header.Get("Message-Id") != "<delivery-"+itoa(followups[methods["email"]])+".acme.example>" {
		t.Errorf("follow-up e-mail headers %v, want a reply to %s", m.Header, thread)
	}
	if p := parts(t, m); !strings.Contains(p["text/plain"], "was acknowledged by Carol <!channel> (via link) at 12:02 CEST") {
		t.Errorf("follow-up e-mail text %q", p["text/plain"])
	}
}

// Handoff notices go over every channel, to a subscription or to a responder's contact method,
// and roll their outbox row up as a page's deliveries roll up the page: sent when one of its
// deliveries is sent (even after another failed), failed when all have ended without one.
func TestNoticesOverEachChannelRollUp(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	gone := newReceiver(t, status(410), status(410))
	sl := newSlackish(t)
	srv := newSMTPServer(t)
	smtpURL, err := delivery.ParseSMTPURL("smtp://" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	sched := dbtest.Int64(t, f.pool, `insert into oncall_schedules (tenant_id, name, time_zone) values ('acme', 'Primary', 'Europe/Berlin') returning id`)
	subscribe := func(kind, address string) int64 {
		return dbtest.Int64(t, f.pool, `insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) values ('acme', $1, $2, $3) returning id`,
			sched, kind, address)
	}
	hook, slackSub, goneSub := subscribe("webhook", rcv.URL), subscribe("slack", sl.URL+"/services/T0/B0/y"), subscribe("webhook", gone.URL)
	bob := f.responder("acme", "Bob", "email", "bob@acme.example", "webhook", gone.URL)
	notice := func(kind vocab.NoticeKind, sub, responder *int64) int64 {
		return dbtest.Int64(t, f.pool, `insert into handoff_notices (tenant_id, schedule_id, change_at, kind, subscription_id, responder_id, notice)
			values ('acme', $1, $2, $3, $4, $5, '{}') returning id`, sched, t0, kind, sub, responder)
	}
	until := t0.Add(8 * time.Hour)
	changed := &delivery.Notice{Type: vocab.NoticeChanged.Type(), Schedule: delivery.ScheduleNotice{ID: sched, Name: "Primary", TimeZone: "Europe/Berlin"},
		At: t0, Until: &until, OnCall: []delivery.Named{{ID: bob, Name: "Bob"}}, OffCall: []delivery.Named{{ID: 9, Name: "Carol <!here>"}}}
	upcoming := &delivery.Notice{Type: vocab.NoticeUpcoming.Type(), Schedule: changed.Schedule, At: t0, Until: &until,
		OnCall: []delivery.Named{{ID: bob, Name: "Bob"}}, OffCall: []delivery.Named{}}
	toHook, toSlack, toGone := notice(vocab.NoticeChanged, &hook, nil), notice(vocab.NoticeChanged, &slackSub, nil), notice(vocab.NoticeChanged, &goneSub, nil)
	toBob := notice(vocab.NoticeUpcoming, nil, &bob)
	methods := f.methodsOf(bob)
	ids := f.queueMessages(
		delivery.Message{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: toHook, SubscriptionID: hook, Notice: changed},
		delivery.Message{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: toSlack, SubscriptionID: slackSub, Notice: changed},
		delivery.Message{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: toGone, SubscriptionID: goneSub, Notice: changed},
		delivery.Message{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: toBob, ContactMethodID: methods["webhook"], Notice: upcoming},
		delivery.Message{Kind: vocab.MessageNotice, TenantID: "acme", SourceID: toBob, ContactMethodID: methods["email"], Notice: upcoming},
	)
	noticeStatus := func(id int64) string {
		var s string
		if err := f.pool.QueryRow(f.ctx, `select status from handoff_notices where id = $1`, id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	w := f.worker(2*time.Second, smtpURL, fixedClock, loopback...)
	_ = f.work(w, ids[methods["webhook"]], 1) // Bob's webhook is gone: 410
	if s := noticeStatus(toBob); s != "pending" {
		t.Errorf("a notice with a delivery failed and one pending: %s", s)
	}
	for _, id := range []int64{ids[methods["email"]], ids[-hook], ids[-slackSub], ids[-goneSub]} {
		_ = f.work(w, id, 1)
	}
	for id, want := range map[int64]string{toBob: "sent", toHook: "sent", toSlack: "sent", toGone: "failed"} {
		if s := noticeStatus(id); s != want {
			t.Errorf("notice %d: %s, want %s", id, s, want)
		}
	}

	got := <-rcv.got
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil || got.VerifyErr != nil {
		t.Fatalf("webhook: %v %v", err, got.VerifyErr)
	}
	s, _ := body["schedule"].(map[string]any)
	if got.ID != itoa(ids[-hook]) || body["type"] != "oncall.changed" || body["delivery_id"] != float64(ids[-hook]) || body["tenant_id"] != "acme" ||
		s["time_zone"] != "Europe/Berlin" || body["until"] != until.Format(time.RFC3339) || len(body["on_call"].([]any)) != 1 {
		t.Errorf("webhook-id %s, body %s", got.ID, got.Body)
	}
	if text, _ := sl.last(t)["text"].(string); text != "Bob is now on call for Primary until Mon 20:00 CEST, after Carol &lt;!here&gt;." {
		t.Errorf("Slack text %q", text)
	}
	<-srv.got
	m := srv.msgs[0]
	if m.Header.Get("Subject") != "You are on call for Primary from Mon 12:00 CEST to Mon 20:00 CEST." || m.Header.Get("In-Reply-To") != "" {
		t.Errorf("notice e-mail headers %v", m.Header)
	}
	if p := parts(t, m); !strings.Contains(p["text/plain"], "On call:  Bob") || !strings.Contains(p["text/html"], "You are on call for Primary") {
		t.Errorf("notice e-mail parts %v", p)
	}
}

// With links on, every page carries its acknowledge and resolve links — in the webhook body
// ("actions"), as Slack link buttons, in both parts of the e-mail — each verifying as that
// alert's and responder's; with links off the body has no "actions".
func TestPagesCarryActionLinks(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	sl := newSlackish(t)
	srv := newSMTPServer(t)
	smtpURL, err := delivery.ParseSMTPURL("smtp://" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := action.NewSigner(action.Options{PublicURL: "https://ops.acme.example", TTL: time.Hour,
		Secret: base64.StdEncoding.EncodeToString([]byte("delivery test key of 32 bytes ok"))})
	if err != nil {
		t.Fatal(err)
	}
	ann := f.responder("acme", "Ann", "webhook", rcv.URL, "slack", sl.URL+"/services/T0/B0/x", "email", "ann@acme.example")
	page := f.page("acme", ann)
	alert := alertOf(t, f, page)
	_, ids := f.enqueue(page)
	w := f.workerWith(workerOptions{timeout: 2 * time.Second, smtp: smtpURL, allow: loopback, links: signer})
	for _, id := range ids {
		if err := f.work(w, id, 1); err != nil {
			t.Fatal(err)
		}
	}
	check := func(where, link string, want vocab.Action) {
		t.Helper()
		token, ok := strings.CutPrefix(link, "https://ops.acme.example/act/")
		c, err := signer.Verify(token, t0)
		if !ok || err != nil || c.AlertID != alert || c.ResponderID != ann || c.Action != want || !c.Expires.Equal(t0.Add(time.Hour)) {
			t.Errorf("%s: link %q: %+v %v", where, link, c, err)
		}
	}
	var body struct {
		Actions *action.Links `json:"actions"`
	}
	got := <-rcv.got
	if err := json.Unmarshal(got.Body, &body); err != nil || body.Actions == nil {
		t.Fatalf("webhook body without actions: %s", got.Body)
	}
	check("webhook", body.Actions.Acknowledge, vocab.ActionAcknowledge)
	check("webhook", body.Actions.Resolve, vocab.ActionResolve)

	var buttons []string
	for _, b := range sl.last(t)["blocks"].([]any) {
		if b := b.(map[string]any); b["type"] == "actions" {
			for _, e := range b["elements"].([]any) {
				e := e.(map[string]any)
				if e["type"] == "button" {
					buttons = append(buttons, e["url"].(string))
				}
			}
		}
	}
	if len(buttons) != 2 {
		t.Fatalf("Slack buttons %v", buttons)
	}
	check("slack", buttons[0], vocab.ActionAcknowledge)
	check("slack", buttons[1], vocab.ActionResolve)

	<-srv.got
	p := parts(t, srv.msgs[0])
	text, html := p["text/plain"], p["text/html"]
	ack := text[strings.Index(text, "Acknowledge: ")+len("Acknowledge: "):]
	ack = strings.TrimSpace(ack[:strings.IndexByte(ack, '\n')])
	check("e-mail", ack, vocab.ActionAcknowledge)
	if !strings.Contains(html, `<a href="`+strings.ReplaceAll(ack, "&", "&amp;")+`">Acknowledge</a>`) || !strings.Contains(text, "Resolve:     https://ops.acme.example/act/") {
		t.Errorf("e-mail parts: %s\n%s", text, html)
	}

	// Links off.
	_, ids = f.enqueue(f.page("acme", f.responder("acme", "Bo", "webhook", rcv.URL)))
	if err := f.work(f.worker(2*time.Second, nil, fixedClock, loopback...), ids[0], 1); err != nil {
		t.Fatal(err)
	}
	if got := <-rcv.got; strings.Contains(string(got.Body), `"actions"`) {
		t.Errorf("links off: %s", got.Body)
	}
}
