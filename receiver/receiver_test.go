package receiver

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/dbtest"
)

// `opsworker receive`: a signed delivery gets 204 and is printed; a bad, missing or stale
// signature gets 401; --fail-rate 1 answers 500 to every valid delivery; a repeated webhook-id is
// marked.
// demoSecret is the demo tenant's published secret (sql/demo.sql).
const demoSecret = "whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0"

func TestReceiver(t *testing.T) {
	hook, err := standardwebhooks.NewWebhook(demoSecret)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"alert.paged","delivery_id":7,"alert":{"id":3,"summary":"disk full","severity":"critical"},"responder":{"id":1,"name":"Ann"}}`)
	post := func(r *Receiver, id string, at time.Time, sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		if sig == "" {
			sig, _ = hook.Sign(id, at, body)
		}
		req.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		return w.Code
	}
	var out bytes.Buffer
	r := &Receiver{hook: hook, out: &out, seen: map[string]int{}}
	now := time.Now()
	for _, tc := range []struct {
		name string
		id   string
		at   time.Time
		sig  string
		code int
	}{
		{"signed", "7", now, "", 204},
		{"the same delivery again", "7", now, "", 204},
		{"a bad signature", "8", now, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 401},
		{"stale", "9", now.Add(-10 * time.Minute), "", 401},
	} {
		if code := post(r, tc.id, tc.at, tc.sig); code != tc.code {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.code)
		}
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "page: alert 3 [critical] disk full") || !strings.Contains(lines[1], "(repeat 2)") ||
		!strings.Contains(lines[2], "rejected") || !strings.Contains(lines[3], "rejected") {
		t.Fatalf("printed:\n%s", out.String())
	}
	failing := &Receiver{hook: hook, out: &out, seen: map[string]int{}, failRate: 1}
	if code := post(failing, "10", now, ""); code != 500 {
		t.Errorf("--fail-rate 1: %d, want 500", code)
	}
}

// A page's action links are printed under it, a follow-up says who changed the alert and how;
// with AckFirst the receiver POSTs the first page's acknowledge link — opsworker's real /act/
// handler on a real database here — once: the alert is acknowledged by the page's responder, a
// second page's link is left alone, and what opsworker answered is printed (never the link).
func TestReceiverAcknowledgesTheFirstPage(t *testing.T) {
	pool := dbtest.New(t)
	dbtest.Exec(t, pool, `insert into tenants (id, name) values ('demo', 'Demo')`)
	carol := dbtest.Int64(t, pool, `insert into responders (tenant_id, name) values ('demo', 'Carol') returning id`)
	first := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary) values ('demo', 'demo', 'db-1: disk 95% full') returning id`)
	second := dbtest.Int64(t, pool, `insert into alerts (tenant_id, source, summary) values ('demo', 'demo', 'api: 5xx') returning id`)
	signer, err := action.NewSigner(action.Options{PublicURL: "http://127.0.0.1:1", TTL: time.Hour,
		Secret: base64.StdEncoding.EncodeToString([]byte("receiver test key of 32 bytes ok"))})
	if err != nil {
		t.Fatal(err)
	}
	h, err := action.NewHandler(action.HandlerOptions{Pool: pool, Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	opsworker := httptest.NewServer(h)
	defer opsworker.Close()
	issued := time.Now()
	links := func(alert int64) action.Links { // as a sender makes them, pointing at this test's server
		l := signer.Links(alert, carol, issued)
		l.Acknowledge = opsworker.URL + strings.TrimPrefix(l.Acknowledge, "http://127.0.0.1:1")
		l.Resolve = opsworker.URL + strings.TrimPrefix(l.Resolve, "http://127.0.0.1:1")
		return l
	}

	var out syncBuffer
	r, err := New(Options{Secret: demoSecret, Out: &out, AckFirst: true})
	if err != nil {
		t.Fatal(err)
	}
	hook, _ := standardwebhooks.NewWebhook(demoSecret)
	send := func(id string, body any) {
		t.Helper()
		b, _ := json.Marshal(body)
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(b))
		now := time.Now()
		sig, _ := hook.Sign(id, now, b)
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 204 {
			t.Fatalf("delivery %s: %d", id, w.Code)
		}
	}
	page := func(alert int64, summary string) map[string]any {
		return map[string]any{"type": "alert.paged", "delivery_id": 1, "tenant_id": "demo",
			"alert":     map[string]any{"id": alert, "summary": summary, "source": "demo", "severity": "critical", "status": "triggered"},
			"page":      map[string]any{"notification_id": 1, "escalation_loop": 0, "escalation_step": 0},
			"responder": map[string]any{"id": carol, "name": "Carol"}, "schedule": nil, "actions": links(alert)}
	}
	send("1", page(first, "db-1: disk 95% full"))
	select {
	case <-r.AckedFirst():
	case <-time.After(10 * time.Second):
		t.Fatal("the first page's acknowledge link was not followed")
	}
	send("2", page(second, "api: 5xx"))
	send("3", map[string]any{"type": "alert.acknowledged", "delivery_id": 3, "tenant_id": "demo",
		"alert": map[string]any{"id": first, "summary": "db-1: disk 95% full", "severity": "critical", "status": "acknowledged"},
		"by":    "Carol", "via": "link", "at": "2027-05-03T10:02:00Z"})

	var status, by string
	if err := pool.QueryRow(context.Background(), `select status, coalesce(acknowledged_by, '') from alerts where id = $1`, first).Scan(&status, &by); err != nil {
		t.Fatal(err)
	}
	if status != "acknowledged" || by != "Carol" {
		t.Fatalf("the first alert is %s by %q", status, by)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from alerts where id = $1 and status = 'triggered'`, second); n != 1 {
		t.Fatal("the second page's link was followed too")
	}
	text := out.String()
	for _, want := range []string{
		"page: alert " + strconv.FormatInt(first, 10) + " [critical] db-1: disk 95% full",
		"  acknowledge: " + links(first).Acknowledge,
		"  resolve:     " + links(first).Resolve,
		"ack-first: alert " + strconv.FormatInt(first, 10) + ": acknowledged from its link (done)",
		"follow-up: alert " + strconv.FormatInt(first, 10) + " [critical] db-1: disk 95% full acknowledged by Carol via link at 2027-05-03T10:02:00Z",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the receiver printed no %q:\n%s", want, text)
		}
	}
	if i := strings.Index(text, "ack-first"); strings.Contains(text[i:strings.Index(text[i:], "\n")+i], "/act/") {
		t.Errorf("the ack-first line shows the link:\n%s", text)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A handoff notice is printed as its sentence, in the schedule's zone, as Slack and e-mail say
// it.
func TestReceiverPrintsNotices(t *testing.T) {
	hook, _ := standardwebhooks.NewWebhook(demoSecret)
	var out syncBuffer
	r, err := New(Options{Secret: demoSecret, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{
		`{"type":"oncall.changed","delivery_id":5,"tenant_id":"demo","schedule":{"id":1,"name":"Demo on-call","time_zone":"Europe/Berlin"},
		  "at":"2026-12-03T09:52:00+01:00","until":"2026-12-03T18:00:00+01:00","on_call":[{"id":2,"name":"Bob"}],"off_call":[{"id":3,"name":"Carol"}]}`,
		`{"type":"oncall.upcoming","delivery_id":6,"tenant_id":"demo","schedule":{"id":1,"name":"Demo on-call","time_zone":"Europe/Berlin"},
		  "at":"2026-12-03T18:00:00+01:00","until":"2026-12-04T09:00:00+01:00","on_call":[{"id":1,"name":"Alice"}],"off_call":[]}`,
	} {
		id := strconv.Itoa(i + 5)
		now := time.Now()
		sig, _ := hook.Sign(id, now, []byte(body))
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
		req.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 204 {
			t.Fatalf("notice %s: %d", id, w.Code)
		}
	}
	for _, want := range []string{
		" oncall.changed: Bob is now on call for Demo on-call until Thu 18:00 CET, after Carol, delivery 5\n",
		" oncall.upcoming: You are on call for Demo on-call from Thu 18:00 CET to Fri 09:00 CET, delivery 6\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the receiver printed no %q:\n%s", want, out.String())
		}
	}
}
