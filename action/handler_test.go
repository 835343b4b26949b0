package action_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/console"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// t0 is when the fixture's alert was paged (Monday 10:00 UTC, 12:00 in Berlin).
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

var secret = base64.StdEncoding.EncodeToString([]byte("action links test key, 32 bytes+"))

// fixture is a database with tenant acme (Europe/Berlin), responders Carol and Bo, a paged alert,
// and an /act/ handler on it with a clock the test moves.
type fixture struct {
	t      testing.TB
	pool   *pgxpool.Pool
	signer *action.Signer
	h      *action.Handler
	srv    *httptest.Server
	reg    *prometheus.Registry
	logs   *syncBuffer
	now    atomic.Pointer[time.Time]

	carol, bo, alert int64
}

// syncBuffer is a log sink the handler's goroutines may write to while the test reads it.
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

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, pool: dbtest.New(t), reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	f.setNow(t0.Add(2 * time.Minute))
	var err error
	f.signer, err = action.NewSigner(action.Options{PublicURL: "https://ops.example.com", Secret: secret, TTL: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.h, err = action.NewHandler(action.HandlerOptions{Pool: f.pool, Signer: f.signer, Stylesheet: console.Stylesheet(),
		Now: func() time.Time { return *f.now.Load() }, Registerer: f.reg,
		Logger: slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.h)
	t.Cleanup(f.srv.Close)
	dbtest.Exec(t, f.pool, `insert into tenants (id, name, time_zone) values ('acme', 'Acme', 'Europe/Berlin'), ('other', 'Other', 'UTC')`)
	f.carol = dbtest.Int64(t, f.pool, `insert into responders (tenant_id, name) values ('acme', 'Carol') returning id`)
	f.bo = dbtest.Int64(t, f.pool, `insert into responders (tenant_id, name) values ('acme', 'Bo') returning id`)
	f.alert = f.pagedAlert("db-1: disk 95% full", f.carol)
	return f
}

func (f *fixture) setNow(t time.Time) { f.now.Store(&t) }

// pagedAlert inserts a triggered alert with a page to responder, at t0.
func (f *fixture) pagedAlert(summary string, responder int64) int64 {
	id := dbtest.Int64(f.t, f.pool, `insert into alerts (tenant_id, source, summary, created_at) values ('acme', 'nagios', $1, $2) returning id`,
		summary, t0.Add(-time.Minute))
	dbtest.Exec(f.t, f.pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, created_at)
	                         values ('acme', $1, $2, 'escalation', 0, 0, $3)`, id, responder, t0)
	return id
}

// path is the /act/ path of a link.
func path(link string) string { return strings.TrimPrefix(link, "https://ops.example.com") }

// do sends method to path from the address 192.0.2.1 (or from), with an Accept header when
// accept is set, and returns the status and body.
func (f *fixture) do(method, path, accept string) (int, string) {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for k, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Get(k); got != want {
			f.t.Errorf("%s %s: %s = %q, want %q", method, path, k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		f.t.Errorf("%s: Content-Security-Policy %q", path, csp)
	}
	return resp.StatusCode, string(b)
}

// answer is the JSON answer of a link.
type answer struct {
	AlertID        int64      `json:"alert_id"`
	Action         string     `json:"action"`
	Outcome        string     `json:"outcome"`
	Status         string     `json:"status"`
	AcknowledgedBy *string    `json:"acknowledged_by"`
	AcknowledgedAt *time.Time `json:"acknowledged_at"`
	ResolvedBy     *string    `json:"resolved_by"`
	ResolvedAt     *time.Time `json:"resolved_at"`
	Message        string     `json:"message"`
	Error          string     `json:"error"`
}

func (f *fixture) json(method, path string) (int, answer) {
	f.t.Helper()
	code, body := f.do(method, path, "application/json")
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		f.t.Fatalf("%s %s: %v: %s", method, path, err, body)
	}
	return code, a
}

// state is what an action may change: the alert's columns and the worker's records of it.
type state struct {
	Status            string
	AckedAt           string
	AckedBy           string
	ResolvedAt        string
	Events, Followups int64
}

func (f *fixture) state(alert int64) state {
	f.t.Helper()
	var s state
	err := f.pool.QueryRow(context.Background(), `
select a.status, coalesce(a.acknowledged_at::text, ''), coalesce(a.acknowledged_by, ''), coalesce(a.resolved_at::text, ''),
       (select count(*) from alert_events e where e.alert_id = a.id),
       (select count(*) from followups u where u.alert_id = a.id)
from alerts a where a.id = $1`, alert).Scan(&s.Status, &s.AckedAt, &s.AckedBy, &s.ResolvedAt, &s.Events, &s.Followups)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// A GET — what a mail or chat link scanner does — shows the alert, its status, who is acting and
// one button, and changes nothing at all.
func TestGetChangesNothing(t *testing.T) {
	f := newFixture(t)
	links := f.signer.Links(f.alert, f.carol, t0)
	before := f.state(f.alert)
	for range 3 {
		code, body := f.do(http.MethodGet, path(links.Acknowledge), "")
		if code != 200 {
			t.Fatalf("GET: %d %s", code, body)
		}
		for _, want := range []string{"Acknowledge alert #", "db-1: disk 95% full", "triggered", "Carol", `<form method="post"`,
			"2027-05-03 11:59 CEST", `href="style.css"`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "<script") {
			t.Error("the page carries a script")
		}
		if code, _ := f.do(http.MethodHead, path(links.Resolve), ""); code != 200 {
			t.Errorf("HEAD: %d", code)
		}
	}
	if after := f.state(f.alert); after != before {
		t.Fatalf("GET changed the alert: %+v, was %+v", after, before)
	}
	code, css := f.do(http.MethodGet, "/act/style.css", "")
	if code != 200 || !strings.Contains(css, "header.top") || !strings.Contains(css, ".act-button") {
		t.Fatalf("style sheet: %d, %d bytes", code, len(css))
	}
}

// POST acknowledges (triggered → acknowledged, by the responder's name, at now), records the
// event with via link and the responder, and the status change for the follow-ups; a second POST
// changes nothing and says so; the resolve link then resolves, and the acknowledge link says who
// resolved it.
func TestPostActsOnce(t *testing.T) {
	f := newFixture(t)
	links := f.signer.Links(f.alert, f.carol, t0)
	ackAt := t0.Add(2 * time.Minute)
	code, body := f.do(http.MethodPost, path(links.Acknowledge), "")
	if code != 200 || !strings.Contains(body, "Acknowledged by you (Carol) at 2027-05-03 12:02 CEST") {
		t.Fatalf("POST: %d %s", code, body)
	}
	s := f.state(f.alert)
	if s.Status != "acknowledged" || s.AckedAt != dbText(t, f.pool, ackAt) || s.AckedBy != "Carol" ||
		s.ResolvedAt != "" || s.Events != 1 || s.Followups != 1 {
		t.Fatalf("after the acknowledge link: %+v", s)
	}
	var details map[string]any
	var event string
	if err := f.pool.QueryRow(context.Background(), `select event, details from alert_events where alert_id = $1`, f.alert).Scan(&event, &details); err != nil {
		t.Fatal(err)
	}
	if event != string(vocab.EventAcknowledged) || details["via"] != "link" || details["responder_id"] != float64(f.carol) || len(details) != 2 {
		t.Fatalf("event %s %v", event, details)
	}
	var via, by string
	if err := f.pool.QueryRow(context.Background(), `select via, changed_by from followups where alert_id = $1`, f.alert).Scan(&via, &by); err != nil {
		t.Fatal(err)
	}
	if via != "link" || by != "Carol" {
		t.Fatalf("the follow-up names %q via %q", by, via)
	}

	f.setNow(t0.Add(5 * time.Minute))
	code, a := f.json(http.MethodPost, path(links.Acknowledge))
	if code != 200 || a.Outcome != "already" || a.Status != "acknowledged" || !strings.Contains(a.Message, "Already acknowledged by you (Carol)") {
		t.Fatalf("second POST: %d %+v", code, a)
	}
	if after := f.state(f.alert); after != s {
		t.Fatalf("the second POST changed %+v to %+v", s, after)
	}

	// Bo resolves it with his own link: the alert keeps Carol's acknowledgement.
	code, a = f.json(http.MethodPost, path(f.signer.Links(f.alert, f.bo, t0).Resolve))
	if code != 200 || a.Outcome != "done" || a.Status != "resolved" || a.ResolvedAt == nil || !a.ResolvedAt.Equal(t0.Add(5*time.Minute)) ||
		a.ResolvedBy == nil || *a.ResolvedBy != "Bo" || a.AcknowledgedBy == nil || *a.AcknowledgedBy != "Carol" {
		t.Fatalf("resolve: %d %+v", code, a)
	}
	code, body = f.do(http.MethodGet, path(links.Acknowledge), "")
	if code != 200 || !strings.Contains(body, "Already resolved by Bo at 2027-05-03 12:05 CEST") || strings.Contains(body, "<form") {
		t.Fatalf("the acknowledge link after the resolution: %d %s", code, body)
	}
	if s := f.state(f.alert); s.Events != 2 || s.Followups != 2 {
		t.Fatalf("after the resolution: %+v", s)
	}
}

// Another service's change is the state a link meets: an alert the API acknowledged cannot be
// acknowledged again (the page says by whom), and can still be resolved.
func TestLinkAfterAnotherService(t *testing.T) {
	f := newFixture(t)
	dbtest.Exec(t, f.pool, `update alerts set status = 'acknowledged', acknowledged_at = $2, acknowledged_by = 'Ann (API)' where id = $1`,
		f.alert, t0.Add(time.Minute))
	links := f.signer.Links(f.alert, f.carol, t0)
	code, a := f.json(http.MethodPost, path(links.Acknowledge))
	if code != 200 || a.Outcome != "already" || !strings.Contains(a.Message, "Already acknowledged by Ann (API) at 2027-05-03 12:01 CEST") {
		t.Fatalf("acknowledge: %d %+v", code, a)
	}
	code, a = f.json(http.MethodPost, path(links.Resolve))
	if code != 200 || a.Outcome != "done" || a.Status != "resolved" {
		t.Fatalf("resolve: %d %+v", code, a)
	}
}

// Concurrent POSTs of one link (a double click, two devices) act once: one answers done, the
// others already, and one event is recorded.
func TestConcurrentPostsActOnce(t *testing.T) {
	f := newFixture(t)
	link := path(f.signer.Links(f.alert, f.carol, t0).Acknowledge)
	outcomes := make(chan string, 8)
	var wg sync.WaitGroup
	for range cap(outcomes) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, a := f.json(http.MethodPost, link)
			outcomes <- a.Outcome
		}()
	}
	wg.Wait()
	close(outcomes)
	n := map[string]int{}
	for o := range outcomes {
		n[o]++
	}
	if n["done"] != 1 || n["already"] != 7 {
		t.Fatalf("outcomes %v, want one done", n)
	}
	if s := f.state(f.alert); s.Events != 1 || s.Followups != 1 {
		t.Fatalf("%+v", s)
	}
}

// Bad links change nothing and say why, each with its own status: tampered or made with another
// key 403, expired 410, an alert that is gone 404, a responder who is gone 403. A link is bound to
// its alert: no edit of it reaches another alert.
func TestBadLinks(t *testing.T) {
	f := newFixture(t)
	other := f.pagedAlert("api: 5xx rate", f.bo)
	links := f.signer.Links(f.alert, f.carol, t0)
	token := strings.TrimPrefix(path(links.Acknowledge), "/act/")
	otherKey, _ := action.NewSigner(action.Options{PublicURL: "https://ops.example.com", TTL: time.Hour,
		Secret: base64.StdEncoding.EncodeToString([]byte("another key of thirty-two bytes!"))})
	// Swap one character anywhere in the token: the alert id is in there, but so is the tag.
	tampered := []string{"/act/" + token[:5] + flip(token[5]) + token[6:], "/act/" + token[:len(token)-1] + flip(token[len(token)-1]),
		"/act/" + token + "A", "/act/" + token[:20], "/act/not-a-token", path(otherKey.Links(other, f.carol, t0).Acknowledge)}
	before, beforeOther := f.state(f.alert), f.state(other)
	for _, p := range tampered {
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			if code, body := f.do(m, p, ""); code != 403 || !strings.Contains(body, "This link is not valid") {
				t.Errorf("%s tampered %s: %d %s", m, p, code, body)
			}
		}
		f.setNow(f.now.Load().Add(time.Minute)) // stay under the failed-check limit
	}

	f.setNow(t0.Add(24 * time.Hour))
	if code, body := f.do(http.MethodPost, path(links.Acknowledge), ""); code != 410 || !strings.Contains(body, "This link has expired") {
		t.Errorf("expired: %d %s", code, body)
	}
	if code, a := f.json(http.MethodGet, path(links.Resolve)); code != 410 || a.Error == "" {
		t.Errorf("expired, JSON: %d %+v", code, a)
	}
	f.setNow(t0.Add(time.Hour))

	gone := f.pagedAlert("deleted later", f.carol)
	goneLink := path(f.signer.Links(gone, f.carol, t0).Acknowledge)
	dbtest.Exec(t, f.pool, `delete from alerts where id = $1`, gone)
	if code, body := f.do(http.MethodPost, goneLink, ""); code != 404 || !strings.Contains(body, "No such alert") {
		t.Errorf("deleted alert: %d %s", code, body)
	}
	leaver := dbtest.Int64(t, f.pool, `insert into responders (tenant_id, name) values ('acme', 'Leaver') returning id`)
	leaverLink := path(f.signer.Links(f.alert, leaver, t0).Acknowledge)
	dbtest.Exec(t, f.pool, `delete from responders where id = $1`, leaver)
	if code, body := f.do(http.MethodPost, leaverLink, ""); code != 403 || !strings.Contains(body, "no longer valid") {
		t.Errorf("deleted responder: %d %s", code, body)
	}
	stranger := dbtest.Int64(t, f.pool, `insert into responders (tenant_id, name) values ('other', 'Stranger') returning id`)
	if code, _ := f.do(http.MethodPost, path(f.signer.Links(f.alert, stranger, t0).Resolve), ""); code != 403 {
		t.Errorf("another tenant's responder: %d", code)
	}
	if code, _ := f.do(http.MethodPut, path(links.Acknowledge), ""); code != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d", code)
	}
	if code, _ := f.do(http.MethodGet, "/act/", ""); code != 404 {
		t.Errorf("/act/: %d", code)
	}
	if after, afterOther := f.state(f.alert), f.state(other); after != before || afterOther != beforeOther {
		t.Fatalf("bad links changed %+v → %+v, %+v → %+v", before, after, beforeOther, afterOther)
	}
}

// dbText is t as the database prints a timestamptz.
func dbText(t testing.TB, pool *pgxpool.Pool, at time.Time) string {
	var s string
	if err := pool.QueryRow(context.Background(), `select $1::timestamptz::text`, at).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// Failed token checks are limited per client address: past the burst, the address gets 429 for
// every link, valid ones too, without its tokens being checked, until its budget refills; other
// addresses are not affected.
func TestFailedChecksAreLimited(t *testing.T) {
	f := newFixture(t)
	valid := path(f.signer.Links(f.alert, f.carol, t0).Acknowledge)
	from := func(addr, p string) int {
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.RemoteAddr = addr
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, req)
		return w.Code
	}
	for i := range action.DefaultFailBurst {
		if code := from("198.51.100.7:4000", "/act/guess"+strings.Repeat("x", 60)); code != 403 {
			t.Fatalf("failure %d: %d", i+1, code)
		}
	}
	if code := from("198.51.100.7:4001", "/act/guess"); code != 429 {
		t.Fatalf("past the burst: %d, want 429", code)
	}
	if code := from("198.51.100.7:4002", valid); code != 429 {
		t.Fatalf("a valid link past the burst: %d, want 429", code)
	}
	if code := from("203.0.113.9:4000", valid); code != 200 {
		t.Fatalf("another address: %d", code)
	}
	// IPv6: one /64 is one client.
	for range action.DefaultFailBurst {
		from("[2001:db8:1:2::1]:4000", "/act/guess")
	}
	if code := from("[2001:db8:1:2:ffff::9]:4000", valid); code != 429 {
		t.Fatalf("the same /64: %d, want 429", code)
	}
	f.setNow(f.now.Load().Add(action.DefaultFailEvery))
	if code := from("198.51.100.7:4003", valid); code != 200 {
		t.Fatalf("after the budget refilled: %d", code)
	}
	if n := counter(t, f.reg, "GET", "limited"); n != 3 {
		t.Fatalf("limited requests counted: %v", n)
	}
}

// counter is the value of opsworker_action_link_requests_total{method, outcome}.
func counter(t *testing.T, reg *prometheus.Registry, method, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "opsworker_action_link_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no series for %s %s", method, outcome)
	return 0
}

// Tokens are bearer credentials: after every kind of request, valid, tampered, expired and
// repeated, no token appears in a log line or in /metrics; the alert and the action do.
func TestTokensAreNeverLoggedOrLabelled(t *testing.T) {
	f := newFixture(t)
	links := f.signer.Links(f.alert, f.carol, t0)
	tokens := []string{strings.TrimPrefix(path(links.Acknowledge), "/act/"), strings.TrimPrefix(path(links.Resolve), "/act/")}
	f.do(http.MethodGet, path(links.Acknowledge), "")
	f.do(http.MethodPost, path(links.Acknowledge), "")
	f.do(http.MethodPost, path(links.Acknowledge), "")
	f.do(http.MethodPost, "/act/"+tokens[1][:30]+"AAAA"+tokens[1][34:], "")
	f.setNow(t0.Add(48 * time.Hour))
	f.do(http.MethodPost, path(links.Resolve), "")
	logs := f.logs.String()
	if !strings.Contains(logs, `"alert_id":`) || !strings.Contains(logs, `"action":"acknowledge"`) || !strings.Contains(logs, "expired action link") ||
		!strings.Contains(logs, "invalid action link") {
		t.Fatalf("the log does not name the alert and action:\n%s", logs)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, tok := range tokens {
		for _, part := range []string{tok, tok[:16], tok[len(tok)-16:]} {
			if strings.Contains(logs, part) {
				t.Errorf("a token is in the log:\n%s", logs)
			}
			if strings.Contains(rec.Body.String(), part) {
				t.Errorf("a token is in /metrics")
			}
		}
	}
}

// Without PUBLIC_URL and ACTION_SECRET every /act/ path is 404.
func TestLinksOff(t *testing.T) {
	h, err := action.NewHandler(action.HandlerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/act/abc", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "Action links are off") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// Every wait is bounded: with the database blackholed, a POST answers 503 within QueryTimeout
// (it may or may not have been done, the page says), and a request that finds every database
// slot taken answers 503 too (nothing done) instead of queueing without end; once the database
// answers again, links work.
func TestActionsAreBoundedWhenTheDatabaseHangs(t *testing.T) {
	f := newFixture(t)
	proxy := dbtest.NewProxy(t)
	pool := dbtest.NewPool(t, proxy.URL(f.pool.Config().ConnString()))
	h, err := action.NewHandler(action.HandlerOptions{Pool: pool, Signer: f.signer, Now: func() time.Time { return *f.now.Load() },
		MaxQueries: 1, QueryTimeout: 300 * time.Millisecond, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(context.Background()); err != nil { // a connection in the pool before the fault
		t.Fatal(err)
	}
	link := path(f.signer.Links(f.alert, f.carol, t0).Acknowledge)
	post := func() (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, link, nil))
		return rec.Code, rec.Body.String()
	}
	proxy.Blackhole()
	results := make(chan string, 2)
	began := time.Now()
	for range 2 {
		go func() {
			code, body := post()
			switch {
			case code == 503 && strings.Contains(body, "may or may not have been done"):
				results <- "timed out"
			case code == 503 && strings.Contains(body, "Nothing was changed"):
				results <- "busy"
			default:
				results <- fmt.Sprintf("%d %s", code, body)
			}
		}()
	}
	got := map[string]int{<-results: 1}
	got[<-results]++
	if took := time.Since(began); got["timed out"] != 1 || got["busy"] != 1 || took > 2*time.Second {
		t.Fatalf("with the database blackholed: %v after %s; want one timed out, one busy, within the bound", got, took)
	}
	proxy.Pass()
	if code, body := post(); code != 200 {
		t.Fatalf("after the fault: %d %s", code, body)
	}
}
