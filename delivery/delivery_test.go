package delivery_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

func fixedClock() time.Time { return time.Now() } // signatures must be fresh for the verifier

// Enqueue inserts one delivery per enabled contact method of the page's responder (of the page's
// tenant only) with its River job, whose arguments are the delivery's id alone; a page whose
// responder has no enabled contact method fails at once with an alert event; enqueueing again
// inserts nothing twice.
func TestEnqueue(t *testing.T) {
	f := newFixture(t)
	ann := f.responder("acme", "Ann", "webhook", "https://hooks.acme.example/a", "email", "ann@acme.example")
	dbtest.Exec(t, f.pool, `insert into contact_methods (tenant_id, responder_id, kind, address, enabled) values ('acme', $1, 'slack', 'https://hooks.slack.com/x', false)`, ann)
	dbtest.Exec(t, f.pool, `insert into contact_methods (tenant_id, responder_id, kind, address) values ('other', $1, 'email', 'leak@other.example')`, ann)
	bob := f.responder("acme", "Bob")
	pa, pb := f.page("acme", ann), f.page("acme", bob)

	enq, ids := f.enqueue(pa, pb)
	if enq.Deliveries != 2 || len(ids) != 2 || len(enq.NoContact) != 1 || enq.NoContact[0] != pb {
		t.Fatalf("enqueued %+v, deliveries %v", enq, ids)
	}
	var jobs int64
	var args string
	if err := f.pool.QueryRow(f.ctx, `select count(*), min(args::text) from river_job where kind = 'delivery' and queue = 'delivery'`).Scan(&jobs, &args); err != nil {
		t.Fatal(err)
	}
	if jobs != 2 || !strings.HasPrefix(args, `{"delivery_id":`) || strings.Contains(args, "acme.example") {
		t.Fatalf("%d jobs, args %s: want 2 jobs carrying the delivery id only", jobs, args)
	}
	if s := f.pageStatus(pb); s != "failed" {
		t.Errorf("page without contact method: status %s", s)
	}
	if n := dbtest.Int64(t, f.pool, `select count(*) from alert_events where event = 'no_contact_method' and (details->>'notification_id')::bigint = $1`, pb); n != 1 {
		t.Errorf("%d no_contact_method events", n)
	}
	if again, _ := f.enqueue(pa, pb); again.Deliveries != 0 || len(again.NoContact) != 0 {
		t.Errorf("enqueued again: %+v", again)
	}
}

// A webhook delivery is signed per Standard Webhooks (the library's verifier accepts it), its
// body has DESIGN's shape, and the delivery and its page are sent.
func TestWebhookSigned(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t)
	ann := f.responder("acme", "Ann", "webhook", rcv.URL+"/hook")
	page := f.page("acme", ann)
	_, ids := f.enqueue(page)
	if err := f.work(f.worker(2*time.Second, nil, fixedClock, loopback...), ids[0], 1); err != nil {
		t.Fatal(err)
	}
	got := <-rcv.got
	if got.VerifyErr != nil {
		t.Fatalf("the Standard Webhooks verifier rejects the delivery: %v", got.VerifyErr)
	}
	if got.ID != itoa(ids[0]) {
		t.Errorf("webhook-id %q, want the delivery id %d", got.ID, ids[0])
	}
	var body map[string]any
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	alert, _ := body["alert"].(map[string]any)
	pg, _ := body["page"].(map[string]any)
	resp, _ := body["responder"].(map[string]any)
	if body["type"] != "alert.paged" || body["delivery_id"] != float64(ids[0]) || body["tenant_id"] != "acme" ||
		alert["summary"] != "disk 95% full" || alert["severity"] != "critical" || alert["status"] != "triggered" || alert["source"] != "db-1" ||
		pg["notification_id"] != float64(page) || pg["escalation_step"] != 0.0 || pg["paged_at"] != t0.Format(time.RFC3339) ||
		resp["name"] != "Ann" || body["schedule"] != nil {
		t.Fatalf("body: %s", got.Body)
	}
	if r := f.delivery(ids[0]); r.Status != "sent" || r.Attempts != 1 || *r.Code != 204 || r.SentAt == nil {
		t.Fatalf("delivery %+v", r)
	}
	if s := f.pageStatus(page); s != "sent" {
		t.Errorf("page status %s", s)
	}
	if strings.Contains(f.logs.String(), strings.TrimPrefix(secret, "whsec_")) {
		t.Error("the webhook secret is in the log")
	}
}

// Every outcome of an attempt, against real servers.
func TestOutcomes(t *testing.T) {
	other := newReceiver(t) // where a redirect points
	for _, tc := range []struct {
		name      string
		answers   []func(http.ResponseWriter, *http.Request)
		address   func(rcv *receiver) string
		tenant    string
		kind      string
		allow     []delivery.Network
		allowFor  func(rcv *receiver) []delivery.Network // allow, from the receiver's port
		timeout   time.Duration                          // of one attempt; 300 ms when zero
		attempts  int                                    // how many Work calls
		status    string
		errLike   string
		code      int
		received  int
		returnErr func(error) bool
	}{
		{name: "500 then 200", answers: []func(http.ResponseWriter, *http.Request){status(500), status(200)}, attempts: 2, status: "sent", code: 200, received: 2,
			returnErr: func(err error) bool { return err == nil }},
		{name: "500 is retried", answers: []func(http.ResponseWriter, *http.Request){status(500)}, status: "pending", errLike: "receiver answered 500", code: 500, received: 1,
			returnErr: func(err error) bool { return err != nil && !isCancel(err) && !isSnooze(err) }},
		{name: "a receiver that hangs past DELIVERY_TIMEOUT", answers: []func(http.ResponseWriter, *http.Request){func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
			status: "pending", errLike: "timeout|deadline", received: 1,
			returnErr: func(err error) bool { return err != nil && !isCancel(err) }},
		{name: "connection reset", address: func(*receiver) string { return resetServer(t) }, status: "pending", errLike: "connection reset",
			returnErr: func(err error) bool { return err != nil && !isCancel(err) }},
		{name: "410 fails for good", answers: []func(http.ResponseWriter, *http.Request){status(410)}, status: "failed", errLike: "rejected: receiver answered 410", code: 410, received: 1,
			returnErr: isCancel},
		{name: "429 with Retry-After", answers: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}}, status: "pending", code: 429, received: 1,
			returnErr: func(err error) bool {
				var s *rivertype.JobSnoozeError
				return errors.As(err, &s) && s.Duration == 7*time.Second
			}},
		{name: "a private address is refused", allow: []delivery.Network{}, status: "failed", errLike: "destination_not_allowed",
			address: func(rcv *receiver) string { return strings.Replace(rcv.URL, "http://", "https://", 1) }, returnErr: isCancel},
		{name: "plain http outside the allowed networks", allow: networks("10.0.0.0/8"), status: "failed", errLike: "destination_not_allowed",
			returnErr: isCancel},
		{name: "without a port list the allow-list refuses PostgreSQL's port", address: func(*receiver) string { return "http://127.0.0.1:5432/" },
			status: "failed", errLike: "destination_not_allowed: .*5432", returnErr: isCancel},
		{name: "a network's port list lets its ports through", allowFor: func(rcv *receiver) []delivery.Network {
			return networks("10.0.0.0/8, 127.0.0.1/32:1+" + rcv.URL[strings.LastIndexByte(rcv.URL, ':')+1:] + "+9000-9100")
		}, status: "sent", code: 204, received: 1, returnErr: func(err error) bool { return err == nil }},
		{name: "and no other port", allowFor: func(*receiver) []delivery.Network { return networks("127.0.0.1/32:1-1000+5432") },
			status: "failed", errLike: "destination_not_allowed: .*not on port", returnErr: isCancel},
		{name: "TLS is verified; a certificate that does not verify fails at once", address: func(*receiver) string { return tlsServer(t) },
			status: "failed", errLike: "bad_certificate: .*certificate", timeout: 5 * time.Second, returnErr: isCancel},
		{name: "a redirect is not followed", answers: []func(http.ResponseWriter, *http.Request){func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", other.URL)
			w.WriteHeader(302)
		}}, status: "failed", errLike: "redirect_not_followed", code: 302, received: 1, returnErr: isCancel},
		{name: "a tenant without a secret", tenant: "other", status: "failed", errLike: "no_webhook_secret", returnErr: isCancel},
		{name: "no SMTP_URL", kind: "email", address: func(*receiver) string { return "ann@acme.example" }, status: "failed", errLike: "no_smtp", returnErr: isCancel},
		{name: "the last attempt fails for good", answers: []func(http.ResponseWriter, *http.Request){status(503), status(503), status(503), status(503)}, attempts: 4,
			status: "failed", errLike: "receiver answered 503", code: 503, received: 4, returnErr: isCancel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rcv := newReceiver(t, tc.answers...)
			address := rcv.URL
			if tc.address != nil {
				address = tc.address(rcv)
			}
			tenant, kind := "acme", "webhook"
			if tc.tenant != "" {
				tenant = tc.tenant
			}
			if tc.kind != "" {
				kind = tc.kind
			}
			page := f.page(tenant, f.responder(tenant, "Ann", kind, address))
			_, ids := f.enqueue(page)
			allow := loopback
			if tc.allow != nil {
				allow = tc.allow
			}
			if tc.allowFor != nil {
				allow = tc.allowFor(rcv)
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 300 * time.Millisecond
			}
			w := f.worker(timeout, nil, fixedClock, allow...)
			var err error
			for n := 1; n <= max(tc.attempts, 1); n++ {
				err = f.work(w, ids[0], n)
			}
			if !tc.returnErr(err) {
				t.Errorf("Work returned %v", err)
			}
			r := f.delivery(ids[0])
			if r.Status != tc.status || (tc.code != 0 && (r.Code == nil || *r.Code != tc.code)) ||
				(tc.errLike != "" && (r.LastError == nil || !regexp.MustCompile("(?i)"+tc.errLike).MatchString(*r.LastError))) {
				t.Fatalf("delivery %s, code %v, error %v; want %s, %d, %q", r.Status, deref(r.Code), deref(r.LastError), tc.status, tc.code, tc.errLike)
			}
			if len(rcv.got) != tc.received {
				t.Errorf("the receiver got %d requests, want %d", len(rcv.got), tc.received)
			}
			if len(other.got) != 0 {
				t.Error("a redirect was followed")
			}
			events := dbtest.Int64(t, f.pool, `select count(*) from alert_events where event = 'delivery_failed'`)
			if want := map[bool]int64{true: 1, false: 0}[tc.status == "failed"]; events != want {
				t.Errorf("%d delivery_failed events, want %d", events, want)
			}
			if tc.status == "failed" && f.pageStatus(page) != "failed" {
				t.Errorf("page status %s after its only delivery failed", f.pageStatus(page))
			}
		})
	}
}

// An alert acknowledged (or resolved) before the attempt: the delivery is cancelled, nothing is
// sent; so is one whose contact method was disabled.
func TestCancelledBeforeTheAttempt(t *testing.T) {
	for _, change := range []string{
		`update alerts set status = 'acknowledged', acknowledged_at = now()`,
		`update alerts set status = 'resolved', resolved_at = now()`,
		`update contact_methods set enabled = false`,
	} {
		f := newFixture(t)
		rcv := newReceiver(t)
		page := f.page("acme", f.responder("acme", "Ann", "webhook", rcv.URL))
		_, ids := f.enqueue(page)
		dbtest.Exec(t, f.pool, change)
		if err := f.work(f.worker(time.Second, nil, fixedClock, loopback...), ids[0], 1); err != nil {
			t.Fatalf("%s: %v", change, err)
		}
		if r := f.delivery(ids[0]); r.Status != "cancelled" || r.Attempts != 0 || len(rcv.got) != 0 {
			t.Fatalf("%s: delivery %+v, %d requests", change, r, len(rcv.got))
		}
	}
}

// The retry schedule: 5 s, 15 s, 45 s, 135 s, then every 5 minutes, each ±10 %.
func TestRetrySchedule(t *testing.T) {
	f := newFixture(t)
	now := time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
	w := f.worker(time.Second, nil, func() time.Time { return now })
	for attempt, want := range map[int]time.Duration{1: 5 * time.Second, 2: 15 * time.Second, 3: 45 * time.Second,
		4: 135 * time.Second, 5: 5 * time.Minute, 9: 5 * time.Minute} {
		for range 50 {
			got := w.NextRetry(&river.Job[delivery.Args]{JobRow: &rivertype.JobRow{Attempt: attempt}}).Sub(now)
			if got < want*9/10 || got > want*11/10 {
				t.Fatalf("retry after attempt %d in %v, want %v ±10%%", attempt, got, want)
			}
		}
	}
}

func isCancel(err error) bool {
	var c *rivertype.JobCancelError
	return errors.As(err, &c)
}

func isSnooze(err error) bool {
	var s *rivertype.JobSnoozeError
	return errors.As(err, &s)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// resetServer returns the address of a server that resets every connection.
func resetServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1)
			_, _ = c.Read(buf)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// tlsServer returns the https address of a server with a certificate nobody trusts.
func tlsServer(t *testing.T) string {
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(s.Close)
	return s.URL
}

// deliveries.attempts counts the attempts actually made: an attempt whose request reached the
// receiver but whose outcome could not be recorded (the database went away meanwhile) still
// counts when the next attempt records, and so does the page's; refusals that send nothing
// count none.
func TestAttemptsCountWhatWasSent(t *testing.T) {
	f := newFixture(t)
	proxy := dbtest.NewProxy(t)
	pool, err := pgxpool.New(f.ctx, proxy.URL(f.pool.Config().ConnString()))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	rcv := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		proxy.Refuse() // the database goes away while the receiver takes the page
		w.WriteHeader(http.StatusNoContent)
	}, status(http.StatusNoContent))
	page := f.page("acme", f.responder("acme", "Ann", "webhook", rcv.URL))
	_, ids := f.enqueue(page)
	through := *f
	through.pool = pool
	w := through.worker(2*time.Second, nil, fixedClock, loopback...)
	if err := f.work(w, ids[0], 1); err == nil {
		t.Fatal("attempt 1 recorded its outcome with the database away")
	}
	proxy.Pass()
	pool.Reset()
	if err := f.work(w, ids[0], 2); err != nil {
		t.Fatal(err)
	}
	if len(rcv.received) != 2 || rcv.received[0].ID != rcv.received[1].ID {
		t.Fatalf("the receiver got %+v", rcv.received)
	}
	if r := f.delivery(ids[0]); r.Status != "sent" || r.Attempts != 2 {
		t.Errorf("delivery %+v: want sent after 2 attempts", r)
	}
	if n := dbtest.Int64(t, f.pool, `select attempts from notifications where id = $1`, page); n != 2 {
		t.Errorf("the page has %d attempts, want 2", n)
	}

	refused := f.page("other", f.responder("other", "Bob", "webhook", rcv.URL)) // tenant other has no webhook secret
	_, ids = f.enqueue(refused)
	if err := f.work(f.worker(time.Second, nil, fixedClock, loopback...), ids[0], 1); !isCancel(err) {
		t.Fatalf("refused: Work returned %v", err)
	}
	if r := f.delivery(ids[0]); r.Status != "failed" || r.Attempts != 0 {
		t.Errorf("refused delivery %+v: want failed after no attempt", r)
	}
}

// DELIVERY_ALLOW_NETWORKS' forms, and its mistakes.
func TestParseNetworks(t *testing.T) {
	for in, want := range map[string]string{
		"":                                    "",
		"10.0.0.0/8, 127.0.0.1":               "10.0.0.0/8 127.0.0.1/32",
		"127.0.0.1/32:8090":                   "127.0.0.1/32:8090",
		"192.168.1.7:8080+8443":               "192.168.1.7/32:8080+8443",
		"10.1.2.3/16:8000-8099+9200 fd00::/8": "10.1.0.0/16:8000-8099+9200 fd00::/8",
		"[::1]:8090,::1":                      "::1/128:8090 ::1/128",
		"[fd00::]/8:443":                      "fd00::/8:443",
	} {
		got, err := delivery.ParseNetworks(in)
		var s []string
		for _, n := range got {
			s = append(s, n.String())
		}
		if err != nil || strings.Join(s, " ") != want {
			t.Errorf("ParseNetworks(%q) = %q, %v; want %q", in, s, err, want)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "127.0.0.1/32:", "127.0.0.1:0", "127.0.0.1:70000", "127.0.0.1:9-8",
		"[::1", "[::1]8090", "10.0.0.0/8:http", "::1:8090x"} {
		if _, err := delivery.ParseNetworks(bad); err == nil {
			t.Errorf("ParseNetworks(%q) accepted", bad)
		}
	}
}
