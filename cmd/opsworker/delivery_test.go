package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/dbtest"
)

// demoSecret is the demo tenant's published webhook secret (sql/demo.sql).
const demoSecret = "whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0"

// The issue's acceptance: on the demo data, the built binary's first page reaches `opsworker
// receive` with a valid signature.
func TestDemoPageReachesTheReceiver(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	addr, lines := startReceive(t, "--json")

	if _, errs, code := runBinary(t, dbURL, "demo", "--webhook", "http://"+addr+"/opsworker"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	p := startServe(t, "DATABASE_URL="+dbURL, "ESCALATION_SCHEDULE=@every 1s", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")
	select {
	case line := <-lines:
		var got struct {
			Verified bool `json:"verified"`
			Body     struct {
				Type  string `json:"type"`
				Alert struct {
					Summary string `json:"summary"`
				} `json:"alert"`
				Responder struct {
					Name string `json:"name"`
				} `json:"responder"`
			} `json:"body"`
		}
		if err := json.Unmarshal([]byte(line), &got); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if !got.Verified || got.Body.Type != "alert.paged" || got.Body.Alert.Summary != "db-1: disk 95% full" || got.Body.Responder.Name != "Carol" {
			t.Fatalf("the receiver printed %s", line)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("no page reached the receiver in 60 s; worker log:\n%s", p.logs.text())
	}
	p.logs.waitFor(t, "delivered", nil)
	if _, code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(p.logs.text(), strings.TrimPrefix(demoSecret, "whsec_")) {
		t.Error("the webhook secret is in the worker's log")
	}
}

// hookCounter is a webhook receiver, in the test process, that verifies every delivery and
// counts them by webhook-id.
type hookCounter struct {
	*httptest.Server
	mu     sync.Mutex
	byID   map[string]int
	bodies map[string]string
	bad    int
	got    chan struct{}
}

func newHookCounter(t *testing.T, secret string) *hookCounter {
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := &hookCounter{byID: map[string]int{}, bodies: map[string]string{}, got: make(chan struct{}, 100000)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if hook.Verify(body, r.Header) != nil {
			h.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id := r.Header.Get("webhook-id")
		if prev, ok := h.bodies[id]; ok && prev != string(body) {
			h.bad++ // a repeat must be the same delivery
		}
		h.byID[id]++
		h.bodies[id] = string(body)
		w.WriteHeader(http.StatusNoContent)
		h.got <- struct{}{}
	}))
	t.Cleanup(h.Close)
	return h
}

// counts returns how many distinct deliveries arrived, how many arrived more than once, and how
// many requests failed verification or repeated a delivery with another body.
func (h *hookCounter) counts() (distinct, repeated, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.byID {
		if n > 1 {
			repeated++
		}
	}
	return len(h.byID), repeated, h.bad
}

// webhookAlerts creates a database with n due alerts paging a responder by webhook to a counting
// receiver.
func webhookAlerts(t *testing.T, n int) (string, *pgxpool.Pool, *hookCounter) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	dbURL := dbtest.NewURL(t)
	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	hooks := newHookCounter(t, secret)
	seedWebhookAlerts(t, pool, n, secret, hooks.URL)
	return dbURL, pool, hooks
}

// seedWebhookAlerts gives the test tenant of seedAlerts a webhook secret and its responder a
// webhook contact method at url.
func seedWebhookAlerts(t testing.TB, pool *pgxpool.Pool, n int, secret, url string) {
	seedAlerts(t, pool, n)
	dbtest.Exec(t, pool, `update tenants set webhook_secret = $1`, secret)
	dbtest.Exec(t, pool, `insert into contact_methods (tenant_id, responder_id, kind, address) select tenant_id, id, 'webhook', $1 from responders`, url)
}

// kill -9 of serve during a burst of 1,000 pages: after another process takes over, every
// delivery has arrived at least once, and any that arrived twice carries the same webhook-id and
// body.
func TestKill9DuringDeliveries(t *testing.T) {
	const n = 1000
	dbURL, pool, hooks := webhookAlerts(t, n)
	env := []string{"DATABASE_URL=" + dbURL, "ESCALATION_SCHEDULE=@every 1s", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32",
		"DELIVERY_TIMEOUT=1s", "LOG_LEVEL=info"}
	a := startServe(t, env...)
	for range 100 {
		<-hooks.got
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.logs.done
	_ = a.cmd.Wait()
	if distinct, _, _ := hooks.counts(); distinct == n {
		t.Fatal("the killed process delivered everything: nothing was interrupted")
	}

	b := startServe(t, env...)
	deadline := time.After(150 * time.Second)
	for {
		if distinct, _, _ := hooks.counts(); distinct == n {
			break
		}
		select {
		case <-hooks.got:
		case <-deadline:
			distinct, _, _ := hooks.counts()
			t.Fatalf("%d of %d deliveries arrived in 150 s", distinct, n)
		}
	}
	distinct, repeated, bad := hooks.counts()
	if bad != 0 {
		t.Fatalf("%d requests failed verification or repeated a delivery with another body", bad)
	}
	// The last attempts' outcomes are recorded right after their receipt.
	for pending := int64(1); pending > 0; {
		if err := pool.QueryRow(context.Background(), `select count(*) from deliveries where status <> 'sent'`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending > 0 {
			b.logs.waitFor(t, "delivered", nil)
		}
	}
	b.stop(t)
	t.Logf("%d deliveries arrived, %d of them twice (same webhook-id and body)", distinct, repeated)
}

// Two serve processes on one database: in the normal path no delivery is sent twice.
func TestTwoProcessesDeliverOnce(t *testing.T) {
	const n = 1000
	dbURL, pool, hooks := webhookAlerts(t, n)
	env := []string{"DATABASE_URL=" + dbURL, "ESCALATION_SCHEDULE=@every 1s", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32", "LOG_LEVEL=info"}
	a, b := startServe(t, env...), startServe(t, env...)
	deadline := time.After(60 * time.Second)
	for distinct, _, _ := hooks.counts(); distinct < n; distinct, _, _ = hooks.counts() {
		select {
		case <-hooks.got:
		case <-deadline:
			t.Fatalf("%d of %d deliveries arrived in 60 s", distinct, n)
		}
	}
	a.stop(t)
	b.stop(t)
	if distinct, repeated, bad := hooks.counts(); distinct != n || repeated != 0 || bad != 0 {
		t.Fatalf("%d deliveries, %d sent twice, %d bad", distinct, repeated, bad)
	}
	var workers int64
	if err := pool.QueryRow(context.Background(), `select count(distinct attempted_by[1]) from river_job where kind = 'delivery'`).Scan(&workers); err != nil {
		t.Fatal(err)
	}
	if workers != 2 {
		t.Logf("deliveries were worked by %d of the 2 processes", workers)
	}
}

// Issue 17's replicas that disagree: two serve processes on one database, one allowing the
// loopback receiver and one allowing nothing; 100 pages to it are all sent (the refusing process
// puts them back while its peer disagrees, for the peer to send), none fails, and the refusing
// process said which setting differs.
func TestReplicasThatDisagreeSendEveryPage(t *testing.T) {
	const n = 100
	dbURL, pool, hooks := webhookAlerts(t, n)
	common := []string{"DATABASE_URL=" + dbURL, "ESCALATION_SCHEDULE=@every 1s", "LOG_LEVEL=info"}
	a := startServe(t, append(common, "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")...)
	a.logs.waitFor(t, "opsworker started", nil)
	b := startServe(t, common...)
	b.logs.waitFor(t, "settings differ from live peers: set them alike on every replica", func(m map[string]any) bool {
		return m["settings"] == "DELIVERY_ALLOW_NETWORKS"
	})
	deadline := time.After(90 * time.Second)
	for distinct, _, _ := hooks.counts(); distinct < n; distinct, _, _ = hooks.counts() {
		select {
		case <-hooks.got:
		case <-deadline:
			t.Fatalf("%d of %d deliveries arrived in 90 s", distinct, n)
		}
	}
	var failed int64
	if err := pool.QueryRow(context.Background(), `select count(*) from deliveries where status = 'failed'`).Scan(&failed); err != nil {
		t.Fatal(err)
	}
	if distinct, _, bad := hooks.counts(); distinct != n || bad != 0 || failed != 0 {
		t.Fatalf("%d of %d sent, %d bad, %d failed for good", distinct, n, bad, failed)
	}
	a.stop(t)
	b.stop(t)
}
