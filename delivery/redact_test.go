package delivery_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/delivery"
)

// Secrets inside addresses appear nowhere: a down Slack webhook and token-bearing webhooks
// (?token=, ?key=, user:password@, a redirect to a token-bearing URL), worked through River with
// the logger at debug, leave their tokens in no log line (the worker's and River's), no
// deliveries.last_error or notifications.last_error, no delivery_failed event, no River job
// record and no metric; the masks are there instead.
func TestNoSecretInAnyOutput(t *testing.T) {
	f := newFixture(t)
	const (
		slackToken = "slackTOKENxyzzy"
		token      = "webhookTOKENplugh"
		key        = "webhookKEYfrobozz"
		password   = "webhookPASSWORDzork"
		elsewhere  = "redirectTOKENgrue"
	)
	tokens := []string{slackToken, token, key, password, elsewhere}
	down := closedPort(t)
	failing := newReceiver(t, status(503), status(503))
	hanging := newReceiver(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
		func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	redirecting := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "https://elsewhere.example/in?token="+elsewhere)
		w.WriteHeader(http.StatusFound)
	})
	addresses := map[string]string{
		"slack":     "http://" + down + "/services/T000/B000/" + slackToken,
		"token":     failing.URL + "/in?token=" + token,
		"key":       hanging.URL + "/in?key=" + key,
		"password":  strings.Replace(failing.URL, "http://", "http://pager:"+password+"@", 1) + "/in",
		"redirects": redirecting.URL + "/in",
	}
	var pages []int64
	for name, address := range addresses {
		kind := "webhook"
		if name == "slack" {
			kind = "slack"
		}
		pages = append(pages, f.page("acme", f.responder("acme", name, kind, address)))
	}

	reg := prometheus.NewRegistry()
	svc, err := delivery.New(f.pool, delivery.Options{Workers: 4, MaxAttempts: 2, Timeout: 300 * time.Millisecond,
		AllowNetworks: loopback, Logger: f.logger(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	events, cancel := svc.Client().Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	defer cancel()
	if err := svc.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop(context.Background())
	_, ids := f.enqueue(pages...)
	ended := 0
	timeout := time.After(30 * time.Second)
	for ended < len(ids) {
		select {
		case ev := <-events:
			if ev.Job.Kind == (delivery.Args{}).Kind() && (ev.Kind != river.EventKindJobFailed || ev.Job.Attempt >= ev.Job.MaxAttempts) {
				ended++ // a delivery's end (not the retention job's)
			}
		case <-timeout:
			t.Fatalf("%d of %d deliveries ended in 30 s", ended, len(ids))
		}
	}

	outputs := map[string]string{"log": f.logs.String()}
	for name, sql := range map[string]string{
		"deliveries":    `select coalesce(string_agg(coalesce(last_error, ''), ' | '), '') from deliveries`,
		"notifications": `select coalesce(string_agg(coalesce(last_error, ''), ' | '), '') from notifications`,
		"alert_events":  `select coalesce(string_agg(details::text, ' | '), '') from alert_events`,
		"river_job":     `select coalesce(string_agg(row_to_json(j)::text, ' | '), '') from river_job j`,
	} {
		var s string
		if err := f.pool.QueryRow(f.ctx, sql).Scan(&s); err != nil {
			t.Fatal(err)
		}
		outputs[name] = s
	}
	var metrics strings.Builder
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		metrics.WriteString(mf.String())
	}
	outputs["metrics"] = metrics.String()
	if n := testutil.CollectAndCount(reg, "opsworker_delivery_deliveries_total"); n == 0 {
		t.Error("no delivery series gathered")
	}
	for name, out := range outputs {
		for _, tok := range tokens {
			if strings.Contains(out, tok) {
				t.Errorf("%s holds %q:\n%s", name, tok, out)
			}
		}
	}
	for _, name := range []string{"log", "deliveries", "river_job"} {
		if !strings.Contains(outputs[name], "/services/T000/B000/***") || !strings.Contains(outputs[name], "token=***") {
			t.Errorf("%s lacks the masked addresses:\n%s", name, outputs[name])
		}
	}
	if !strings.Contains(outputs["log"], `"component":"river"`) || !strings.Contains(outputs["log"], "Job errored") {
		t.Errorf("River's debug lines are not in the log:\n%s", outputs["log"])
	}
}

// closedPort returns a loopback address where nothing listens: connections are refused.
func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
