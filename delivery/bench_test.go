package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
)

// benchReceiver verifies every delivery with the Standard Webhooks library (as a real receiver
// would: its cost is on the same two cores) and records when each webhook-id first arrived.
type benchReceiver struct {
	*httptest.Server
	mu      sync.Mutex
	arrived map[int64]time.Time
	again   int // receipts of a webhook-id seen before
	all     chan struct{}
	want    int
}

func newBenchReceiver(tb testing.TB, want int) *benchReceiver {
	hook, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		tb.Fatal(err)
	}
	r := &benchReceiver{arrived: make(map[int64]time.Time, want), all: make(chan struct{}), want: want}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if err := hook.Verify(body, req.Header); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		id, _ := strconv.ParseInt(req.Header.Get("webhook-id"), 10, 64)
		now := time.Now()
		r.mu.Lock()
		if _, seen := r.arrived[id]; !seen {
			r.arrived[id] = now
			if len(r.arrived) == r.want {
				close(r.all)
			}
		} else {
			r.again++
		}
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	tb.Cleanup(r.Close)
	return r
}

// count is how many webhook-ids have arrived.
func (r *benchReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.arrived)
}

// duplicates is how many receipts repeated a webhook-id.
func (r *benchReceiver) duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.again
}

// startClient starts a River client working the delivery queue with workers attempts at once.
func startClient(b *testing.B, f *fixture, workers int) func() {
	client, err := delivery.NewClient(f.pool, delivery.ClientOptions{
		Workers: workers, Worker: f.worker(5*time.Second, nil, time.Now, loopback...), MaxAttempts: 10, Timeout: 5 * time.Second,
		Logger: f.logger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = client.Stop(ctx)
	}
}

// pagesTo creates n pages of one alert, each to its own responder with a webhook to url.
func pagesTo(tb testing.TB, f *fixture, n int, url string) []int64 {
	alert := dbtest.Int64(tb, f.pool, `insert into alerts (tenant_id, source, summary) values ('acme', 'bench', 'b') returning id`)
	rows, err := f.pool.Query(f.ctx, `
		with r as (insert into responders (tenant_id, name) select 'acme', 'r' || i from generate_series(1, $1) i returning id),
		c as (insert into contact_methods (tenant_id, responder_id, kind, address) select 'acme', id, 'webhook', $2 from r)
		insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
		select 'acme', $3, id, 'escalation', 0, 0, 'pending' from r returning id`, n, url, alert)
	if err != nil {
		tb.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		tb.Fatal(err)
	}
	return ids
}

// BenchmarkDeliver10k: 10,000 pages queued at once, delivered by DELIVERY_WORKERS' default (20)
// to a local webhook receiver that verifies each signature: deliveries per second, from the
// client's start to the last receipt. Target ≥ 1,000/s on the 2-core machine.
//
//	go test -run='^$' -bench=Deliver10k -benchtime=1x -count=5 ./delivery/
func BenchmarkDeliver10k(b *testing.B) {
	const n = 10000
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		rcv := newBenchReceiver(b, n)
		f.enqueue(pagesTo(b, f, n, rcv.URL)...)
		b.StartTimer()
		start := time.Now()
		stop := startClient(b, f, 20)
		<-rcv.all
		took := time.Since(start)
		b.StopTimer()
		stop()
		b.ReportMetric(float64(n)/took.Seconds(), "deliveries/s")
	}
}

// BenchmarkLatencyAt200PerSecond: pages committed one by one at a steady 200 per second for 10 s
// (2,000 pages), each in its own transaction with its delivery queued, as escalation does; the
// latency is from the commit's return to the receiver's first receipt. Reports p50 and p99.
// Target p99 ≤ 500 ms.
//
//	go test -run='^$' -bench=LatencyAt200 -benchtime=1x -count=5 ./delivery/
func BenchmarkLatencyAt200PerSecond(b *testing.B) {
	const n, rate = 2000, 200
	for range b.N {
		b.StopTimer()
		f := newFixture(b)
		rcv := newBenchReceiver(b, n)
		pages := pagesTo(b, f, n, rcv.URL)
		enq := delivery.NewEnqueuer(f.insertOnly(), 10)
		stop := startClient(b, f, 20)
		committed := make(map[int64]time.Time, n)
		b.StartTimer()
		tick := time.NewTicker(time.Second / rate)
		for _, page := range pages {
			<-tick.C
			err := pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
				_, err := enq.Enqueue(f.ctx, tx, []int64{page}, time.Now())
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			committed[page] = time.Now()
		}
		tick.Stop()
		<-rcv.all
		b.StopTimer()
		stop()
		byPage := map[int64]int64{}
		rows, _ := f.pool.Query(f.ctx, `select id, notification_id from deliveries`)
		for rows.Next() {
			var d, p int64
			if err := rows.Scan(&d, &p); err != nil {
				b.Fatal(err)
			}
			byPage[d] = p
		}
		rows.Close()
		lat := make([]time.Duration, 0, n)
		rcv.mu.Lock()
		for d, at := range rcv.arrived {
			lat = append(lat, at.Sub(committed[byPage[d]]))
		}
		rcv.mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
	}
}
