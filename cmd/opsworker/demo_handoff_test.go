package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// On the demo data, the handoff task tells Bob and the demo subscription of the handoff a few
// minutes after the load (Carol to Bob), and the heartbeats task opens an alert for the demo
// monitor a minute after the load, which a ping of the published token resolves.
func TestDemoHandsOffAndWatchesAHeartbeat(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	if _, errs, code := runBinary(t, dbURL, "demo"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	loaded := time.Now()
	pool := dbtest.NewPool(t, dbURL)
	run := func(task string, at time.Time) {
		t.Helper()
		out, errs, code := runBinary(t, dbURL, "run", task, "--at", at.UTC().Format(time.RFC3339Nano), "--allow-future")
		var r struct{ Status string }
		if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.Status != "succeeded" {
			t.Fatalf("run %s: exit %d: %s%s", task, code, out, errs)
		}
	}
	run("handoff", loaded)
	run("handoff", loaded.Add(time.Minute))
	run("handoff", loaded.Add(5*time.Minute))
	rows, err := pool.Query(context.Background(), `select h.kind, h.notice, r.name, h.status from handoff_notices h
		left join responders r on r.id = h.responder_id order by h.kind`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var kind, status string
		var name *string
		var body []byte
		if err := rows.Scan(&kind, &body, &name, &status); err != nil {
			t.Fatal(err)
		}
		var n delivery.Notice
		_ = json.Unmarshal(body, &n)
		got = append(got, kind+" "+status+": "+n.Text())
	}
	rows.Close()
	if len(got) != 2 || !strings.HasPrefix(got[0], "changed pending: Bob is now on call for Demo on-call until ") || !strings.HasSuffix(got[0], ", after Carol.") ||
		!strings.HasPrefix(got[1], "upcoming pending: You are on call for Demo on-call from ") {
		t.Fatalf("demo notices: %q", got)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from deliveries d join schedule_subscriptions s on s.id = d.subscription_id where d.message = 'notice'`); n != 1 {
		t.Errorf("%d deliveries to the demo subscription", n)
	}

	run("heartbeats", loaded.Add(30*time.Second))
	run("heartbeats", loaded.Add(62*time.Second))
	if n := dbtest.Int64(t, pool, `select count(*) from alerts a join heartbeat_monitors m on m.alert_id = a.id
		where a.source = 'heartbeat' and a.summary like 'heartbeat "demo backup" missed: never pinged%'`); n != 1 {
		t.Fatalf("%d demo heartbeat alerts", n)
	}
	if ok, err := heartbeats.Ping(context.Background(), pool, "demo-heartbeat-token-0001", loaded.Add(70*time.Second)); !ok || err != nil {
		t.Fatalf("ping the demo token: %v %v", ok, err)
	}
	run("heartbeats", loaded.Add(75*time.Second))
	if n := dbtest.Int64(t, pool, `select count(*) from alerts where source = 'heartbeat' and status = 'resolved'`); n != 1 {
		t.Errorf("the demo heartbeat alert is not resolved")
	}
	// Loading again adds nothing of this.
	if _, errs, code := runBinary(t, dbURL, "demo"); code != 0 {
		t.Fatalf("demo again: exit %d: %s", code, errs)
	}
	if n := dbtest.Int64(t, pool, `select (select count(*) from heartbeat_monitors) + (select count(*) from schedule_subscriptions)`); n != 2 {
		t.Errorf("%d monitors and subscriptions after a second load", n)
	}
}

// The demo's handoff reaches `opsworker receive`: the handoff task, run past the demo's handoff
// (Carol to Bob, a few minutes after the load), queues the notice to the demo subscription, and
// `serve` delivers it, signed — the receiver prints "oncall.changed: Bob is now on call for Demo
// on-call until …, after Carol" — and rolls the notice up to sent.
func TestDemoHandoffNoticeReachesTheReceiver(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	addr, lines := startReceive(t)
	if _, errs, code := runBinary(t, dbURL, "demo", "--webhook", "http://"+addr+"/"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	loaded := time.Now()
	for _, at := range []time.Time{loaded, loaded.Add(5 * time.Minute)} {
		if out, errs, code := runBinary(t, dbURL, "run", "handoff", "--at", at.UTC().Format(time.RFC3339Nano), "--allow-future"); code != 0 {
			t.Fatalf("run handoff: exit %d: %s%s", code, out, errs)
		}
	}
	p := startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=off", "HANDOFF_SCHEDULE=off", "HEARTBEATS_SCHEDULE=off",
		"DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")
	var printed strings.Builder
	timeout := time.After(60 * time.Second)
	for !strings.Contains(printed.String(), "oncall.changed: ") {
		select {
		case l := <-lines:
			printed.WriteString(l + "\n")
		case <-timeout:
			t.Fatalf("no oncall.changed reached the receiver in 60 s; it printed:\n%s\nworker log:\n%s", printed.String(), p.logs.text())
		}
	}
	m := regexp.MustCompile(`oncall.changed: Bob is now on call for Demo on-call until \w{3} \d\d:\d\d CES?T, after Carol, delivery (\d+)\n`).FindStringSubmatch(printed.String())
	if m == nil {
		t.Fatalf("the receiver printed:\n%s", printed.String())
	}
	p.logs.waitFor(t, "delivered", func(l map[string]any) bool { return fmt.Sprint(l["delivery_id"]) == m[1] })
	if n := dbtest.Int64(t, dbtest.NewPool(t, dbURL), `select count(*) from handoff_notices where kind = 'changed' and status = 'sent'`); n != 1 {
		t.Error("the demo's oncall.changed notice is not rolled up to sent")
	}
	if _, code := p.stop(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
}
