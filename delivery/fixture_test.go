package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

// secret is the test tenant's webhook secret.
const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// t0 is the instant the tests' pages are written.
var t0 = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t    testing.TB
	ctx  context.Context
	pool *pgxpool.Pool
	logs *syncBuffer
}

func newFixture(t testing.TB) *fixture {
	f := &fixture{t: t, ctx: context.Background(), pool: dbtest.New(t), logs: &syncBuffer{}}
	dbtest.Exec(t, f.pool, `insert into tenants (id, name, webhook_secret) values ('acme', 'Acme', $1), ('other', 'Other', null)`, secret)
	return f
}

func (f *fixture) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// responder creates a responder of tenant with one contact method per kind→address given.
func (f *fixture) responder(tenant, name string, methods ...string) int64 {
	id := dbtest.Int64(f.t, f.pool, `insert into responders (tenant_id, name) values ($1, $2) returning id`, tenant, name)
	for i := 0; i+1 < len(methods); i += 2 {
		dbtest.Exec(f.t, f.pool, `insert into contact_methods (tenant_id, responder_id, kind, address) values ($1, $2, $3, $4)`,
			tenant, id, methods[i], methods[i+1])
	}
	return id
}

// page creates an alert of tenant and a page of it to responder, and returns the page's id.
func (f *fixture) page(tenant string, responder int64) int64 {
	alert := dbtest.Int64(f.t, f.pool, `insert into alerts (tenant_id, source, summary, severity, created_at)
		values ($1, 'db-1', 'disk 95% full', 'critical', $2) returning id`, tenant, t0.Add(-time.Minute))
	return dbtest.Int64(f.t, f.pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop,
		escalation_step, status, created_at) values ($1, $2, $3, 'escalation', 0, 0, 'pending', $4) returning id`, tenant, alert, responder, t0)
}

// insertOnly is a River client that only inserts.
func (f *fixture) insertOnly() *river.Client[pgx.Tx] {
	c, err := delivery.NewClient(f.pool, delivery.ClientOptions{MaxAttempts: 10, Timeout: time.Second})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// enqueue queues the pages' deliveries in one transaction, as the escalation task does, and
// returns the deliveries' ids in order.
func (f *fixture) enqueue(pages ...int64) (delivery.Enqueued, []int64) {
	f.t.Helper()
	var enq delivery.Enqueued
	err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) (err error) {
		enq, err = delivery.NewEnqueuer(f.insertOnly(), 10).Enqueue(f.ctx, tx, pages, t0)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	rows, _ := f.pool.Query(f.ctx, `select id from deliveries where notification_id = any($1) order by id`, pages)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		f.t.Fatal(err)
	}
	return enq, ids
}

// loopback lets the tests' servers on 127.0.0.1 be reached over plain http.
var loopback = networks("127.0.0.0/8")

// networks parses DELIVERY_ALLOW_NETWORKS for a test.
func networks(s string) []delivery.Network {
	n, err := delivery.ParseNetworks(s)
	if err != nil {
		panic(err)
	}
	return n
}

// workerOptions are what the tests vary of a worker.
type workerOptions struct {
	timeout time.Duration
	smtp    *delivery.SMTP
	allow   []delivery.Network
	links   *action.Signer
	now     func() time.Time // default fixedClock
}

// workerWith returns a worker with every sender, from o.
func (f *fixture) workerWith(o workerOptions) *delivery.Worker {
	dest := delivery.NewDestinations(o.allow, o.timeout)
	if o.now == nil {
		o.now = fixedClock
	}
	return delivery.NewWorker(f.pool, delivery.WorkerOptions{
		Senders: map[string]delivery.Sender{
			"webhook": delivery.Webhook{Destinations: dest},
			"slack":   delivery.Slack{Destinations: dest},
			"email":   delivery.Email{SMTP: o.smtp, From: "pager@acme.example", Timeout: o.timeout},
		},
		MaxAttempts: 4, Timeout: o.timeout, Logger: f.logger(), Now: o.now, Links: o.links,
	})
}

// worker returns a worker allowing allow, with the given clock.
func (f *fixture) worker(timeout time.Duration, smtp *delivery.SMTP, now func() time.Time, allow ...delivery.Network) *delivery.Worker {
	return f.workerWith(workerOptions{timeout: timeout, smtp: smtp, now: now, allow: allow})
}

// work makes attempt n of delivery id with w, as River would call it.
func (f *fixture) work(w *delivery.Worker, id int64, attempt int) error {
	job := &river.Job[delivery.Args]{JobRow: &rivertype.JobRow{ID: id, Attempt: attempt}, Args: delivery.Args{DeliveryID: id}}
	return w.Work(f.ctx, job)
}

// row is a deliveries row as the tests check it.
type row struct {
	Status    string
	Attempts  int
	LastError *string
	Code      *int
	SentAt    *time.Time
}

func (f *fixture) delivery(id int64) row {
	f.t.Helper()
	var r row
	err := f.pool.QueryRow(f.ctx, `select status, attempts, last_error, response_code, sent_at from deliveries where id = $1`, id).
		Scan(&r.Status, &r.Attempts, &r.LastError, &r.Code, &r.SentAt)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) pageStatus(id int64) string {
	var s string
	if err := f.pool.QueryRow(f.ctx, `select status from notifications where id = $1`, id).Scan(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// receiver is a webhook receiver that verifies every request with the Standard Webhooks
// library's verifier and answers what answer says for each request in turn.
type receiver struct {
	*httptest.Server
	hook *standardwebhooks.Webhook

	mu       sync.Mutex
	answers  []func(http.ResponseWriter, *http.Request)
	received []received
	got      chan received
}

type received struct {
	ID, Timestamp string
	Body          []byte
	VerifyErr     error
}

func newReceiver(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) *receiver {
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{hook: hook, answers: answers, got: make(chan received, 10000)}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rec := received{ID: req.Header.Get("webhook-id"), Timestamp: req.Header.Get("webhook-timestamp"), Body: body,
			VerifyErr: hook.Verify(body, req.Header)}
		r.mu.Lock()
		r.received = append(r.received, rec)
		var answer func(http.ResponseWriter, *http.Request)
		if len(r.answers) > 0 {
			answer, r.answers = r.answers[0], r.answers[1:]
		}
		r.mu.Unlock()
		r.got <- rec
		if answer != nil {
			answer(w, req)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func status(code int) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// syncBuffer is a buffer safe for a logger's writes and a test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
