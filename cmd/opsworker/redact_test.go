package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/opsworker/opsworker/dbtest"
)

// Issue 17's secrets inside addresses, through the whole process: serve with LOG_LEVEL=debug
// pages a responder whose contact methods are a Slack incoming webhook that cannot be reached
// (its token is its path), a webhook whose receiver fails with ?token= in its query, and one
// with user:password@ and ?key= on a closed port. While the attempts fail and are retried, no
// token shows in any output: the process's log (its own lines and River's), /metrics, the
// console's alert page and the API's timeline, and the rows other services read
// (deliveries.last_error, notifications.last_error, alert_events, River's jobs).
func TestNoAddressSecretInAnyOutput(t *testing.T) {
	secrets := []string{"slackTOKENsecret0001", "queryTOKENsecret0002", "basicPWsecret0003", "keyPARAMsecret0004"}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	defer failing.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	dbURL := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, dbURL)
	seedAlerts(t, pool, 1)
	dbtest.Exec(t, pool, `update tenants set webhook_secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'`)
	for kind, address := range map[string]string{
		"slack":   "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/" + secrets[0],
		"webhook": failing.URL + "/hook?token=" + secrets[1],
	} {
		dbtest.Exec(t, pool, `insert into contact_methods (tenant_id, responder_id, kind, address) select tenant_id, id, $1, $2 from responders`, kind, address)
	}
	dbtest.Exec(t, pool, `insert into contact_methods (tenant_id, responder_id, kind, address) select tenant_id, id, 'webhook', $1 from responders`,
		"http://ops:"+secrets[2]+"@"+closedAddr+"/x?key="+secrets[3])
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	p := startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=@every 1s", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32",
		"DELIVERY_TIMEOUT=1s", "LOG_LEVEL=debug", "CONSOLE_USERS=ops:"+string(hash))
	started := p.logs.waitFor(t, "opsworker started", nil)
	// Each of the three deliveries fails at least once (and is retried, or fails for good).
	deadline := time.Now().Add(60 * time.Second)
	for dbtest.Int64(t, pool, `select count(*) from deliveries where attempts > 0 or status <> 'pending'`) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the deliveries were not attempted:\n%s", p.logs.text())
		}
		p.logs.next(t) // until the process writes its next line
	}
	base := "http://" + started["http_addr"].(string)
	alert := dbtest.Int64(t, pool, `select id from alerts`)
	var shown strings.Builder
	for _, path := range []string{fmt.Sprintf("/ui/alerts/%d", alert), fmt.Sprintf("/api/v1/alerts/%d/timeline", alert), "/metrics"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.SetBasicAuth("ops", "pw")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		fmt.Fprintf(&shown, "%s:\n%s\n", path, b)
	}
	var rows string
	err := pool.QueryRow(context.Background(), `select concat_ws(e'\n',
		(select string_agg(coalesce(last_error, ''), e'\n') from deliveries),
		(select string_agg(coalesce(last_error, ''), e'\n') from notifications),
		(select string_agg(details::text, e'\n') from alert_events),
		(select string_agg(errors::text || args::text, e'\n') from river_job))`).Scan(&rows)
	if err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	for name, text := range map[string]string{"the log": p.logs.text(), "the console, API and metrics": shown.String(), "the database's rows": rows} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s shows %s:\n%s", name, s, text)
			}
		}
	}
	if !strings.Contains(p.logs.text(), "/services/T0AAAAAAA/B0BBBBBBB/***") || !strings.Contains(p.logs.text(), "ops:***@") || !strings.Contains(p.logs.text(), "key=***") {
		t.Errorf("the log does not name the addresses, masked:\n%s", p.logs.text())
	}
}
