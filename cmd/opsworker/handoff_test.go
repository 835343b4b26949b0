package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/tasks/handoff"
	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// `handoff` prints what the task would send in a window, across a DST change: each notice's send
// time, kind, recipient and text, in the schedule's zone; --json the preview; an unknown schedule
// is exit 1 and bad arguments exit 2.
func TestHandoffCommand(t *testing.T) {
	url, id := berlinDaily(t)
	pool := dbtest.NewPool(t, url)
	dbtest.Exec(t, pool, `insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) values ('acme', $1, 'slack', 'https://hooks.slack.com/services/T/B/secret')`, id)
	dbtest.Exec(t, pool, `insert into contact_methods (tenant_id, responder_id, kind, address) select 'acme', id, 'email', 'anna@example.com' from responders where name = 'Anna'`)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("LOG_FORMAT", "json")
	t.Setenv("HANDOFF_LEAD", "15m")

	code, out, errs := cli(t, "handoff", itoa(id), "--from", "2027-03-27T07:00:00Z", "--until", "2027-03-28T09:00:00Z")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := "Ops (schedule " + itoa(id) + ", Europe/Berlin), Sat 2027-03-27 08:00 CET to Sun 2027-03-28 11:00 CEST, lead 15m\n" +
		"  Sat 2027-03-27 08:45 CET  upcoming  to Ben (responder 2), who has no enabled contact method: it fails\n" +
		"      You are on call for Ops from Sat 09:00 CET to Sun 09:00 CEST.\n" +
		"  Sat 2027-03-27 09:00 CET  changed   to subscription 1 (slack)\n" +
		"      Ben is now on call for Ops until Sun 09:00 CEST, after Anna.\n" +
		"  Sun 2027-03-28 08:45 CEST  upcoming  to Anna (responder 1) by email 1\n" +
		"      You are on call for Ops from Sun 09:00 CEST to Mon 09:00 CEST.\n" +
		"  Sun 2027-03-28 09:00 CEST  changed   to subscription 1 (slack)\n" +
		"      Anna is now on call for Ops until Mon 09:00 CEST, after Ben.\n"
	if out != want {
		t.Fatalf("output:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(out, "secret") || strings.Contains(out, "anna@example.com") {
		t.Error("an address was printed")
	}

	code, out, _ = cli(t, "handoff", itoa(id), "--from", "2027-03-27T07:00:00Z", "--until", "2027-03-28T09:00:00Z", "--json")
	var p handoff.Preview
	if err := json.Unmarshal([]byte(out), &p); code != exitOK || err != nil || len(p.Notices) != 4 || p.Lead != "15m0s" ||
		len(p.Subscriptions) != 1 || p.Notices[0].Kind != "upcoming" || p.Notices[3].Notice.Type != "oncall.changed" ||
		p.Notices[3].Notice.At.Format(time.RFC3339) != "2027-03-28T09:00:00+02:00" {
		t.Fatalf("--json: exit %d: %s", code, out)
	}
	if code, _, errs := cli(t, "handoff", "999999"); code != exitFailure || !strings.Contains(errs, "there is no schedule 999999") {
		t.Errorf("unknown schedule: %d %s", code, errs)
	}
	for _, args := range [][]string{{"handoff"}, {"handoff", "-5"}, {"handoff", "1", "--from", "2027-01-02T00:00:00Z", "--until", "2027-01-01T00:00:00Z"}, {"handoff", "1", "--from", "soon"}} {
		if code, _, errs := cli(t, args...); code != exitUsage {
			t.Errorf("%v: exit %d: %s", args, code, errs)
		}
	}
	t.Setenv("HANDOFF_LEAD", "-1m")
	if code, _, errs := cli(t, "handoff", itoa(id)); code != exitUsage || !strings.Contains(errs, `"variable":"HANDOFF_LEAD"`) {
		t.Errorf("bad HANDOFF_LEAD: %d %s", code, errs)
	}
}

// `heartbeat ping` records a ping (exit 0) at --url or, without it, at the service on HTTP_ADDR,
// reading the token from standard input with -; an unknown token or an unreachable service is
// exit 1, and no message holds the token. `heartbeat list` shows the monitor.
func TestHeartbeatCommands(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	const token = "cli-token-0123456789abcdef"
	dbtest.Exec(t, pool, `insert into tenants (id, name) values ('acme', 'Acme')`)
	dbtest.Exec(t, pool, `insert into heartbeat_monitors (tenant_id, name, interval_seconds, token) values ('acme', 'nightly backup', 3600, $1)`, token)
	mux := http.NewServeMux()
	mux.Handle(heartbeats.Prefix, heartbeats.NewHandler(pool, heartbeats.HandlerOptions{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	t.Setenv("DATABASE_URL", url)
	t.Setenv("LOG_FORMAT", "json")

	if code, out, errs := cli(t, "heartbeat", "ping", "--url", srv.URL, token); code != exitOK || out != "ping recorded by "+srv.URL+"\n" {
		t.Fatalf("ping: exit %d: %s%s", code, out, errs)
	}
	t.Setenv("HTTP_ADDR", strings.TrimPrefix(srv.URL, "http://"))
	r, w, _ := os.Pipe()
	stdin := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = stdin })
	_, _ = w.WriteString(token + "\n")
	w.Close()
	if code, _, errs := cli(t, "heartbeat", "ping", "-"); code != exitOK {
		t.Fatalf("ping from stdin at HTTP_ADDR: exit %d: %s", code, errs)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from heartbeat_monitors where last_ping_at is not null`); n != 1 {
		t.Fatal("no ping recorded")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--url", srv.URL, token + "x"}, "knows no monitor with this token (404)"},
		{[]string{"--url", "http://127.0.0.1:1", token}, "ping not recorded: http://127.0.0.1:1: "},
	} {
		code, _, errs := cli(t, append([]string{"heartbeat", "ping"}, tc.args...)...)
		if code != exitFailure || !strings.Contains(errs, tc.want) || strings.Contains(errs, token) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs)
		}
	}
	if code, _, _ := cli(t, "heartbeat", "ping", "--url", "ftp://x", token); code != exitUsage {
		t.Errorf("bad --url: exit %d", code)
	}

	code, out, errs := cli(t, "heartbeat", "list")
	if code != exitOK || !strings.Contains(out, "ID  TENANT  NAME            EVERY  STATE  LAST PING") ||
		!strings.Contains(out, "acme    nightly backup  1h     up     20") || strings.Contains(out, token) {
		t.Fatalf("list: exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = cli(t, "heartbeat", "list", "--json", "--tenant", "acme")
	var list struct{ Monitors []heartbeats.Monitor }
	if err := json.Unmarshal([]byte(out), &list); code != exitOK || err != nil || len(list.Monitors) != 1 || list.Monitors[0].State != heartbeats.StateUp {
		t.Fatalf("list --json: exit %d: %s", code, out)
	}
}
