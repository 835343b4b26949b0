package heartbeats_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// GET and POST record a ping (204); an unknown, empty, too long or nested token is 404, another
// method 405; the database gone is 503. No line logged holds the token.
func TestPingEndpoint(t *testing.T) {
	f := newFixture(t)
	m := f.monitor("m", token, time.Minute, 0, t0)
	clock := t0.Add(time.Minute)
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	h := heartbeats.NewHandler(f.pool, heartbeats.HandlerOptions{Now: func() time.Time { return clock }, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	mux := http.NewServeMux()
	mux.Handle(heartbeats.Prefix, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	do := func(method, path string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("ignored"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/heartbeat/" + token, 204},
		{"POST", "/heartbeat/" + token, 204},
		{"PUT", "/heartbeat/" + token, 405},
		{"GET", "/heartbeat/" + token[:len(token)-1] + "x", 404},
		{"POST", "/heartbeat/", 404},
		{"POST", "/heartbeat/" + token + "/more", 404},
		{"POST", "/heartbeat/" + strings.Repeat("a", 300), 404},
	} {
		if got := do(tc.method, tc.path); got != tc.code {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, got, tc.code)
		}
	}
	if last := f.id(`select extract(epoch from last_ping_at)::bigint from heartbeat_monitors where id = $1`, m); last != clock.Unix() {
		t.Errorf("last ping %d, want %d", last, clock.Unix())
	}
	clock = t0 // a replica with a slower clock never moves the last ping back
	if do("POST", "/heartbeat/"+token) != 204 || f.id(`select extract(epoch from last_ping_at)::bigint from heartbeat_monitors`) != t0.Add(time.Minute).Unix() {
		t.Error("the last ping moved back")
	}
	if got := testutil.ToFloat64(h.Pings().WithLabelValues("recorded")); got != 3 {
		t.Errorf("%v pings recorded", got)
	}
	if got := testutil.ToFloat64(h.Pings().WithLabelValues("unknown")); got != 4 {
		t.Errorf("%v unknown pings", got)
	}

	f.pool.Close()
	if got := do("POST", "/heartbeat/"+token); got != http.StatusServiceUnavailable {
		t.Errorf("database gone: %d", got)
	}
	if !strings.Contains(logs.String(), "heartbeat ping not recorded") || strings.Contains(logs.String(), token[4:]) {
		t.Errorf("logs: %s", logs.String())
	}
}
