package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/oncall"
)

func TestParseUsers(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	h := string(hash)
	u, err := ParseUsers(" alice:" + h + " , bob:" + h)
	if err != nil || strings.Join(u.Names(), ",") != "alice,bob" || !u.Enabled() {
		t.Fatalf("%v, %v", u.Names(), err)
	}
	if u, err := ParseUsers("  "); u != nil || err != nil || u.Enabled() {
		t.Fatalf("empty: %v, %v", u, err)
	}
	for _, bad := range []string{
		"alice:" + h + ",",                     // an empty entry
		"hunter2",                              // no user: a password pasted alone
		":" + h,                                // no user name
		"alice:hunter2",                        // a password where the hash belongs
		"alice:" + h + ",alice:" + h,           // twice
		"alice:$2a$10$notreallyahashatallxxxx", // looks like one, is not
	} {
		_, err := ParseUsers(bad)
		if err == nil {
			t.Errorf("%q: accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "$2") {
			t.Errorf("%q: the error shows a secret: %v", bad, err)
		}
	}
}

// Credentials are checked against bcrypt once, then remembered for five minutes of the clock.
func TestUsersCheck(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	u, err := ParseUsers("alice:" + string(hash))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2027, 5, 5, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, pw string
		ok       bool
	}{{"alice", "pw", true}, {"alice", "pw", true}, {"alice", "PW", false}, {"bob", "pw", false}, {"alic", "pw", false}, {"", "", false}} {
		if got := u.Check(c.name, c.pw, now); got != c.ok {
			t.Errorf("Check(%q, %q) = %v", c.name, c.pw, got)
		}
	}
	if len(u.verified) != 1 {
		t.Fatalf("%d credentials remembered, want alice's", len(u.verified))
	}
	// Remembered: a changed hash is not consulted within five minutes, but is after.
	u.entries[0].hash = []byte("$2a$04$" + strings.Repeat("x", 53))
	if !u.Check("alice", "pw", now.Add(4*time.Minute)) {
		t.Error("not remembered after 4 minutes")
	}
	if u.Check("alice", "pw", now.Add(6*time.Minute)) {
		t.Error("still remembered after 6 minutes")
	}
	var none *Users
	if none.Check("alice", "pw", now) {
		t.Error("nil Users let someone in")
	}
}

// The guard: off is 404 everywhere; otherwise 401 without the right credentials, 405 for
// anything but GET and HEAD (River UI included), and the security headers on every answer.
func TestGuard(t *testing.T) {
	f := newFixture(t)
	river := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "river ", r.Method) })
	f.srv = f.server(river)
	do := func(srv http.Handler, method, path, user, pw string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	headers := func(t *testing.T, rec *httptest.ResponseRecorder, what string) {
		t.Helper()
		h := rec.Header()
		if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Content-Type-Options") != "nosniff" ||
			h.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s: headers %v", what, h)
		}
	}

	off, err := New(Options{Pool: f.pool, Jobs: f.jobs, Now: f.now})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/ui/jobs", "/api/v1/jobs", "/ui/river/"} {
		rec := do(off, "GET", path, testUser, testPassword)
		if rec.Code != 404 {
			t.Errorf("off: %s: %d", path, rec.Code)
		}
		headers(t, rec, "off "+path)
	}

	for _, c := range []struct{ user, pw string }{{"", ""}, {testUser, "wrong"}, {"nobody", testPassword}} {
		for _, path := range []string{"/ui/jobs", "/api/v1/jobs", "/ui/river/", "/ui/static/style.css"} {
			rec := do(f.srv, "GET", path, c.user, c.pw)
			if rec.Code != 401 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Basic realm="opsworker console"`) {
				t.Errorf("%q/%q %s: %d %v", c.user, c.pw, path, rec.Code, rec.Header())
			}
			headers(t, rec, "401 "+path)
			if strings.HasPrefix(path, "/api/") && !strings.Contains(rec.Body.String(), `"error"`) {
				t.Errorf("API 401 without a JSON error: %s", rec.Body)
			}
		}
	}

	for _, m := range []string{"POST", "PUT", "DELETE", "PATCH"} {
		for _, path := range []string{"/ui/jobs", "/api/v1/runs", "/ui/river/api/jobs/retry"} {
			rec := do(f.srv, m, path, testUser, testPassword)
			if rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" || strings.Contains(rec.Body.String(), "river") {
				t.Errorf("%s %s: %d %s", m, path, rec.Code, rec.Body)
			}
		}
	}
	if rec := do(f.srv, "GET", "/ui/river/jobs", testUser, testPassword); rec.Code != 200 || rec.Body.String() != "river GET" ||
		!strings.Contains(rec.Header().Get("Content-Security-Policy"), "script-src 'self'") {
		t.Errorf("River UI: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if rec := do(f.srv, "HEAD", "/ui/jobs", testUser, testPassword); rec.Code != 200 {
		t.Errorf("HEAD: %d", rec.Code)
	}
	for path, want := range map[string]int{"/ui/jobs": 200, "/ui/nothing": 404, "/api/v1/nothing": 404, "/ui/": 302,
		"/ui/static/style.css": 200, "/ui/alerts/x": 400, "/ui/alerts/999": 404, "/ui/reports/acme/2027-13-01": 400,
		"/ui/reports/acme/2027-05-01": 404, "/ui/jobs?x=1": 400, "/ui/runs?status=done": 400} {
		rec := do(f.srv, "GET", path, testUser, testPassword)
		if rec.Code != want {
			t.Errorf("GET %s: %d, want %d", path, rec.Code, want)
		}
		headers(t, rec, path)
		if ct := rec.Header().Get("Content-Type"); want == 200 && strings.HasPrefix(path, "/ui/jobs") && ct != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
}

// getJSON requests path and decodes its answer into v, checking the status.
func (f *fixture) getJSON(t *testing.T, path string, status int, v any) {
	t.Helper()
	rec := f.get(path)
	if rec.Code != status {
		t.Fatalf("%s: %d, want %d: %s", path, rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: Content-Type %q", path, ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("%s: %v: %s", path, err, rec.Body)
	}
}

func TestAPIJobs(t *testing.T) {
	f := newFixture(t)
	var out struct {
		Jobs []struct {
			Name, Variable string
			Enabled        bool
			Spec, Zone     *string
			Next           []time.Time
			DSTNotes       []string `json:"dst_notes"`
			LastRun        *struct {
				RunID   int64 `json:"run_id"`
				Status  string
				Trigger string
			} `json:"last_run"`
			LastSuccess *json.RawMessage `json:"last_success"`
		}
	}
	f.getJSON(t, "/api/v1/jobs", 200, &out)
	if len(out.Jobs) != 2 {
		t.Fatalf("%+v", out)
	}
	esc, rep := out.Jobs[0], out.Jobs[1]
	if esc.Name != "escalation" || !esc.Enabled || *esc.Spec != "@every 1m" || len(esc.Next) != 5 ||
		!esc.Next[0].Equal(fixtureNow.Add(time.Minute)) || esc.LastRun == nil || esc.LastRun.Trigger != "manual" || esc.LastSuccess == nil {
		t.Errorf("escalation: %+v", esc)
	}
	if *rep.Zone != "Europe/Berlin" || len(rep.DSTNotes) != 2 || !rep.Next[0].Equal(local(2027, 5, 6, 2, 30)) {
		t.Errorf("report: %+v", rep)
	}
	var e struct{ Error string }
	f.getJSON(t, "/api/v1/jobs?verbose=1", 400, &e)
	if !strings.Contains(e.Error, "verbose") {
		t.Errorf("error %q", e.Error)
	}
}

func TestAPIRuns(t *testing.T) {
	f := newFixture(t)
	type page struct {
		Runs []struct {
			RunID           int64 `json:"run_id"`
			Job, Status     string
			Trigger         *string
			Error           *string
			StartedAt       time.Time `json:"started_at"`
			DurationSeconds *float64  `json:"duration_seconds"`
			Summary         map[string]any
		}
		NextCursor *string `json:"next_cursor"`
	}
	var p page
	f.getJSON(t, "/api/v1/runs?job=escalation&status=failed&limit=3", 200, &p)
	if len(p.Runs) != 3 || p.NextCursor == nil {
		t.Fatalf("%+v", p)
	}
	seen := map[int64]bool{}
	failed := 0
	for cursor := ""; ; {
		var q page
		f.getJSON(t, "/api/v1/runs?job=escalation&status=failed&limit=3"+cursor, 200, &q)
		for _, r := range q.Runs {
			if r.Status != "failed" || r.Job != "escalation" || r.Error == nil || seen[r.RunID] || r.DurationSeconds == nil {
				t.Fatalf("run %+v", r)
			}
			seen[r.RunID] = true
			failed++
		}
		if q.NextCursor == nil {
			break
		}
		cursor = "&cursor=" + *q.NextCursor
	}
	if failed != 7 { // 1,440 firings, every 181st failed
		t.Errorf("%d failed runs, want 7", failed)
	}
	var texts struct {
		Runs []struct {
			Job         string
			SummaryText string `json:"summary_text"`
		}
	}
	f.getJSON(t, "/api/v1/runs?trigger=manual", 200, &texts)
	said := map[string]string{}
	for _, r := range texts.Runs {
		if _, ok := said[r.Job]; !ok {
			said[r.Job] = r.SummaryText
		}
	}
	if said["escalation"] != "1 page for 1 alert, 1 delivery queued, 1 alert exhausted its policy" || said["report"] != "3 reports written (1 of them for an earlier day)" {
		t.Errorf("summary texts %q", said)
	}
	f.getJSON(t, "/api/v1/runs?since=2027-05-05T10:00:00Z&until=2027-05-05T10:10:00Z&trigger=schedule", 200, &p)
	if len(p.Runs) != 10 || p.NextCursor != nil {
		t.Errorf("a window of ten minutes: %d runs", len(p.Runs))
	}
	for _, bad := range []string{"status=done", "trigger=cron", "limit=0", "limit=1001", "since=yesterday", "since=", "until=2300-01-01T00:00:00Z",
		"since=1969-12-31T23:59:59Z", "since=2027-05-05T10:00:00Z&until=2027-05-05T09:00:00Z", "cursor=abc", "job=a&job=b", "jobs=escalation",
		"job=foo"} {
		var e struct{ Error string }
		f.getJSON(t, "/api/v1/runs?"+bad, 400, &e)
		if e.Error == "" {
			t.Errorf("%s: no error message", bad)
		}
	}
}

// The on-call answers are the shapes `opsworker oncall --json` prints, computed by package
// oncall's own AnswerAt and AnswerShifts.
func TestAPIOncall(t *testing.T) {
	f := newFixture(t)
	rec := f.get(fmt.Sprintf("/api/v1/schedules/%d/oncall", f.sched))
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) !=
		fmt.Sprintf(`{"schedule_id":%d,"at":"2027-05-05T12:30:00+02:00","on_call":[{"id":3,"name":"Cleo"}]}`, f.sched) {
		t.Fatalf("now: %d %s", rec.Code, rec.Body)
	}
	var shifts oncall.ShiftsBetween
	f.getJSON(t, fmt.Sprintf("/api/v1/schedules/%d/oncall?at=2027-05-09T00:00:00%%2B02:00&until=2027-05-10T12:00:00Z", f.sched), 200, &shifts)
	if len(shifts.Shifts) != 3 || shifts.Shifts[1].Responder != nil || shifts.Shifts[2].Responder == nil || shifts.Shifts[2].Responder.Name != "Cleo" ||
		!shifts.Shifts[1].Start.Equal(local(2027, 5, 9, 9, 0)) {
		t.Fatalf("shifts %+v", shifts)
	}
	rec = f.get(fmt.Sprintf("/api/v1/schedules/%d/oncall?at=2027-05-09T12:00:00Z", f.sched))
	if !strings.Contains(rec.Body.String(), `"on_call":[]`) {
		t.Errorf("a gap: %s", rec.Body)
	}
	var e struct{ Error string }
	f.getJSON(t, "/api/v1/schedules/999/oncall", 404, &e)
	f.getJSON(t, "/api/v1/schedules/x/oncall", 400, &e)
	for _, bad := range []string{"at=2300-01-01T00:00:00Z", "at=noon", "at=2027-05-09T00:00:00Z&until=2027-05-08T00:00:00Z",
		"at=2027-05-09T00:00:00Z&until=2028-05-10T00:00:00Z", "until=2199-12-31T23:59:59Z&at=2199-12-31T23:59:00Z&x=1"} {
		f.getJSON(t, fmt.Sprintf("/api/v1/schedules/%d/oncall?%s", f.sched, bad), 400, &e)
		if e.Error == "" {
			t.Errorf("%s: no error", bad)
		}
	}
	var list struct{ Schedules []scheduleRow }
	f.getJSON(t, "/api/v1/schedules?tenant=acme", 200, &list)
	if len(list.Schedules) != 1 || list.Schedules[0].Name != "Primary" {
		t.Errorf("schedules %+v", list)
	}
}

func TestAPIReports(t *testing.T) {
	f := newFixture(t)
	var list struct{ Reports []reportListRow }
	f.getJSON(t, "/api/v1/reports?from=2027-05-01&to=2027-05-05", 200, &list)
	if len(list.Reports) != 3 || list.Reports[0].Date != "2027-05-04" {
		t.Fatalf("reports %+v", list)
	}
	// Each report's key numbers, from its body: Tuesday's seven alerts, two acknowledged after 2
	// and 4 minutes, one resolved after 50, thirteen pages, two of them unreached.
	if r := list.Reports[0]; r.TenantID != "acme" || r.Alerts != 7 || r.Acknowledged != 2 || r.MTTASeconds == nil || *r.MTTASeconds != 180 ||
		r.Resolved != 1 || *r.MTTRSeconds != 3000 || r.Pages != 13 || r.Unreached == nil || *r.Unreached != 2 {
		t.Errorf("Tuesday's numbers %+v", r.reportNumbers)
	}
	f.getJSON(t, "/api/v1/reports?tenant=globex", 200, &list) // the last 31 days from the clock
	if len(list.Reports) != 1 || list.Reports[0].TenantID != "globex" {
		t.Fatalf("globex's reports %+v", list)
	}
	var one struct {
		TenantID      string `json:"tenant_id"`
		Date          string
		Body          struct{ Alerts struct{ Triggered int64 } }
		Text          string
		AlertsPerHour []hourCount `json:"alerts_per_hour"`
	}
	f.getJSON(t, "/api/v1/reports/acme/2027-05-04", 200, &one)
	var sum int64
	for _, h := range one.AlertsPerHour {
		sum += h.Alerts
	}
	if len(one.AlertsPerHour) != 24 || sum != one.Body.Alerts.Triggered || sum != 7 || one.AlertsPerHour[14].Alerts != 3 ||
		!strings.HasPrefix(one.Text, "Daily report: Acme GmbH (acme)") {
		t.Fatalf("report %+v", one)
	}
	var e struct{ Error string }
	// The hours are the body's: an alert created into the reported day since does not change them.
	dbtest.Exec(t, f.pool, `insert into alerts (tenant_id, source, summary, created_at, next_escalation_at) values ('acme', 'late', 'late', $1, null)`,
		local(2027, 5, 4, 14, 30))
	f.getJSON(t, "/api/v1/reports/acme/2027-05-04", 200, &one)
	if one.AlertsPerHour[14].Alerts != 3 {
		t.Errorf("14h: %d alerts, want the report's 3", one.AlertsPerHour[14].Alerts)
	}
	f.getJSON(t, "/api/v1/reports/acme/2027-05-01", 404, &e)
	for _, bad := range []string{"/api/v1/reports/acme/yesterday", "/api/v1/reports?from=2027-05-05&to=2027-05-01",
		"/api/v1/reports?from=2025-01-01&to=2027-05-01", "/api/v1/reports?to=2300-01-01", "/api/v1/reports?limit=x"} {
		f.getJSON(t, bad, 400, &e)
	}
}

func TestAPIAlerts(t *testing.T) {
	f := newFixture(t)
	var list struct{ Alerts []alertRow }
	f.getJSON(t, "/api/v1/alerts?tenant=acme&status=acknowledged", 200, &list)
	if len(list.Alerts) != 1 || list.Alerts[0].ID != f.alerts[0] {
		t.Fatalf("alerts %+v", list)
	}
	var tl timeline
	f.getJSON(t, fmt.Sprintf("/api/v1/alerts/%d/timeline", f.alerts[0]), 200, &tl)
	if tl.Alert.Summary != "disk 95% full" || len(tl.Events) != 3 || tl.Events[0].Event != "escalated" || len(tl.Pages) != 2 {
		t.Fatalf("timeline %+v", tl)
	}
	d := tl.Pages[0].Deliveries
	if tl.Pages[0].Responder.Name != "Anna" || len(d) != 1 || d[0].Status != "sent" || d[0].Attempts != 2 || d[0].Job == nil ||
		d[0].Job.State != "completed" || len(d[0].Job.Errors) != 1 || d[0].Job.Errors[0].Error != "HTTP 503 Service Unavailable" {
		t.Fatalf("first page %+v", tl.Pages[0])
	}
	f.getJSON(t, fmt.Sprintf("/api/v1/alerts/%d/timeline", f.alerts[2]), 200, &tl)
	if d := tl.Pages[0].Deliveries; len(d) != 1 || d[0].Status != "failed" || *d[0].ResponseCode != 410 {
		t.Fatalf("failed delivery %+v", tl.Pages[0])
	}
	var e struct{ Error string }
	f.getJSON(t, "/api/v1/alerts/999/timeline", 404, &e)
	f.getJSON(t, "/api/v1/alerts/0/timeline", 400, &e)
	f.getJSON(t, "/api/v1/alerts?status=open", 400, &e)
}

// A filter naming a tenant or a job that does not exist is a bad parameter, on the API and on
// the pages: 400, saying which.
func TestUnknownFilters(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/api/v1/runs?job=foo", "/api/v1/alerts?tenant=nope", "/api/v1/schedules?tenant=nope", "/api/v1/reports?tenant=nope"} {
		var e struct{ Error string }
		f.getJSON(t, path, 400, &e)
		if !strings.Contains(e.Error, "foo") && !strings.Contains(e.Error, `tenant="nope": there is no such tenant`) {
			t.Errorf("%s: %q", path, e.Error)
		}
	}
	for _, path := range []string{"/ui/runs?job=foo", "/ui/alerts?tenant=nope", "/ui/oncall?tenant=nope", "/ui/reports?tenant=nope"} {
		if rec := f.get(path); rec.Code != 400 || !strings.Contains(rec.Body.String(), "nope") && !strings.Contains(rec.Body.String(), "foo") {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	for _, path := range []string{"/api/v1/runs?job=report", "/api/v1/alerts?tenant=globex", "/ui/oncall?tenant=globex", "/ui/runs?job=report"} {
		if rec := f.get(path); rec.Code != 200 {
			t.Errorf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
}
