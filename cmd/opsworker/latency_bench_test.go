package main

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// BenchmarkWakeUpLatency is what a user feels: a serve process with the default specs (escalation
// `@every 1m`, wake-ups on), and 500 alerts inserted at random moments over 2 minutes, each paging
// a responder by a signed webhook to a local receiver. It reports the latency from each insert's
// commit to its page's commit (heard through a trigger) and to the receiver's receipt, p50 and
// p99. Targets: p99 ≤ 1 s to the page, ≤ 1.5 s to the receiver. The binary is built without the
// race detector.
//
//	go test -run='^$' -bench=WakeUpLatency -benchtime=1x ./cmd/opsworker/
func BenchmarkWakeUpLatency(b *testing.B) {
	const n, over = 500, 2 * time.Minute
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	bin := benchBinary(b)
	for range b.N {
		b.StopTimer()
		url, pool := benchDatabase(b)
		var mu sync.Mutex
		received := map[int64]time.Time{}
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Alert struct{ ID int64 } `json:"alert"`
			}
			raw, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(raw, &body)
			mu.Lock()
			if _, ok := received[body.Alert.ID]; !ok {
				received[body.Alert.ID] = time.Now()
			}
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		seedWebhookAlerts(b, pool, 0, secret, rcv.URL)
		w := &wakeFixture{t: b, url: url, pool: pool, policy: dbtest.Int64(b, pool, `select id from escalation_policies`)}
		pages := w.watchPages()
		committed := map[int64]time.Time{}
		paged := map[int64]time.Time{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			for len(paged) < n {
				id, at := pages.wait(b, over+time.Minute)
				a, _ := strconv.ParseInt(id, 10, 64)
				mu.Lock()
				paged[a] = at
				mu.Unlock()
			}
		}()

		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=warn", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		time.Sleep(3 * time.Second) // start-up: migrations done, listener up
		at := make([]time.Duration, n)
		for i := range at {
			at[i] = time.Duration(rand.Int64N(int64(over)))
		}
		slices.Sort(at)
		b.StartTimer()
		start := time.Now()
		for _, d := range at {
			time.Sleep(time.Until(start.Add(d)))
			id := dbtest.Int64(b, pool, `insert into alerts (tenant_id, source, summary, escalation_policy_id) values ('acme', 'bench', 'x', $1) returning id`, w.policy)
			t := time.Now()
			mu.Lock()
			committed[id] = t
			mu.Unlock()
		}
		<-done
		for deadline := time.Now().Add(time.Minute); ; {
			mu.Lock()
			all := len(received) == n
			mu.Unlock()
			if all || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		b.StopTimer()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		rcv.Close()
		pool.Close()

		var toPage, toReceiver []time.Duration
		mu.Lock()
		for id, c := range committed {
			toPage = append(toPage, paged[id].Sub(c))
			if r, ok := received[id]; ok {
				toReceiver = append(toReceiver, r.Sub(c))
			}
		}
		mu.Unlock()
		if len(toReceiver) != n {
			b.Fatalf("%d of %d pages reached the receiver", len(toReceiver), n)
		}
		slices.Sort(toPage)
		slices.Sort(toReceiver)
		b.ReportMetric(float64(toPage[n/2].Milliseconds()), "page_p50_ms")
		b.ReportMetric(float64(toPage[n*99/100].Milliseconds()), "page_p99_ms")
		b.ReportMetric(float64(toReceiver[n/2].Milliseconds()), "receipt_p50_ms")
		b.ReportMetric(float64(toReceiver[n*99/100].Milliseconds()), "receipt_p99_ms")
	}
}
