package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/tasks/handoff"
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
		got = append(got, kind+" "+status+": "+handoff.Sentence(n))
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
