package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/delivery"
)

// hangingReceivers are webhook receivers that never answer: each request waits until the client
// gives up. They note how many requests each had open at most, and when the first request that
// ran into the attempt's deadline (rather than being cut short) ended.
type hangingReceivers struct {
	timeout time.Duration
	urls    []string

	mu        sync.Mutex
	open, max map[string]int
	timedOut  time.Time
}

func newHangingReceivers(t testing.TB, n int, timeout time.Duration) *hangingReceivers {
	h := &hangingReceivers{timeout: timeout, open: map[string]int{}, max: map[string]int{}}
	for range n {
		var url string
		srv := newReceiverServer(t, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			_, _ = io.Copy(io.Discard, r.Body) // then the server notices when the client hangs up
			h.mu.Lock()
			h.open[url]++
			h.max[url] = max(h.max[url], h.open[url])
			h.mu.Unlock()
			<-r.Context().Done()
			h.mu.Lock()
			h.open[url]--
			if time.Since(start) >= h.timeout-50*time.Millisecond && h.timedOut.IsZero() {
				h.timedOut = time.Now()
			}
			h.mu.Unlock()
		})
		url = srv.URL
		h.urls = append(h.urls, url)
	}
	return h
}

// firstTimeout is when the first request that ran into its deadline ended; the zero time when
// none has.
func (h *hangingReceivers) firstTimeout() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.timedOut
}

func (h *hangingReceivers) mostOpen() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := 0
	for _, n := range h.max {
		m = max(m, n)
	}
	return m
}

// isolationRun queues pages to hanging receivers (all to one, or one to each) ahead of 20 to a
// healthy receiver, works them with 20 workers and returns the healthy pages' latencies from the
// start, the start, and the hanging receivers.
func isolationRun(tb testing.TB, hanging int, distinct bool, timeout time.Duration) ([]time.Duration, time.Time, *hangingReceivers) {
	const healthy = 20
	f := newFixture(tb)
	n := min(hanging, 1)
	if distinct {
		n = hanging
	}
	h := newHangingReceivers(tb, n, timeout)
	var pages []int64
	for i := range hanging {
		pages = append(pages, f.page("acme", f.responder("acme", "h", "webhook", h.urls[i%n])))
	}
	rcv := newBenchReceiver(tb, healthy)
	pages = append(pages, pagesTo(tb, f, healthy, rcv.URL)...)
	svc, err := delivery.New(f.pool, delivery.Options{Workers: 20, Timeout: timeout, AllowNetworks: loopback, Logger: f.logger()})
	if err != nil {
		tb.Fatal(err)
	}
	err = pgx.BeginFunc(f.ctx, f.pool, func(tx pgx.Tx) error {
		_, err := svc.Enqueuer().Enqueue(f.ctx, tx, pages, time.Now())
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	if err := svc.Start(f.ctx); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		svc.Stop(ctx)
	}()
	select {
	case <-rcv.all:
	case <-time.After(3 * timeout):
		tb.Fatalf("%d of %d healthy pages received in %v", rcv.count(), healthy, 3*timeout)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var lat []time.Duration
	for _, at := range rcv.arrived {
		lat = append(lat, at.Sub(start))
	}
	slices.Sort(lat)
	return lat, start, h
}

// A destination that hangs does not take the workers from the others: with 30 pages to hanging
// receivers queued ahead of 20 to a healthy one and 20 workers, every healthy page is received
// before the first hanging attempt runs into DELIVERY_TIMEOUT — whether the 30 go to one
// receiver (which never has more than DELIVERY_PER_HOST requests open) or each to its own.
func TestIsolationOfDestinations(t *testing.T) {
	const timeout = 5 * time.Second
	for _, distinct := range []bool{false, true} {
		lat, start, h := isolationRun(t, 30, distinct, timeout)
		last := lat[len(lat)-1]
		if first := h.firstTimeout(); !first.IsZero() && first.Before(start.Add(last)) {
			t.Errorf("distinct=%v: a hanging attempt timed out before the last healthy page was received (%v after the start)", distinct, last)
		}
		if !distinct && h.mostOpen() > 4 {
			t.Errorf("the hanging receiver had %d requests open at once, want at most DELIVERY_PER_HOST (4)", h.mostOpen())
		}
		t.Logf("distinct=%v: healthy pages received after %v (median) and %v (last)", distinct, lat[len(lat)/2], last)
	}
}

// newReceiverServer is a test server with handler, whose open requests are cut when the test
// ends (a hanging handler would keep Close waiting).
func newReceiverServer(tb testing.TB, handler http.HandlerFunc) *httptest.Server {
	srv := httptest.NewServer(handler)
	tb.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// BenchmarkIsolation: 30 pages to hanging receivers — all to one (DESIGN's case), or one to each
// of 30 — queued ahead of 20 to a healthy receiver, 20 workers, DELIVERY_TIMEOUT 10s: the
// healthy pages' latency from the start, p50 and p99. Target p99 < 500 ms.
//
//	go test -run='^$' -bench=Isolation -benchtime=1x -count=5 ./delivery/
func BenchmarkIsolation(b *testing.B) {
	for _, c := range []struct {
		name     string
		hanging  int
		distinct bool
	}{{"no_hanging_destination", 0, false}, {"one_hanging_destination", 30, false}, {"30_hanging_destinations", 30, true}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				lat, _, _ := isolationRun(b, c.hanging, c.distinct, 10*time.Second)
				b.ReportMetric(float64(lat[len(lat)/2].Milliseconds()), "p50_ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99_ms")
			}
		})
	}
}
