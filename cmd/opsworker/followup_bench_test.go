package main

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

// BenchmarkFollowupLatency is the follow-up's latency as a responder feels it: a serve process
// with the default specs (followups `@every 1m`, wake-ups on) has paged 200 alerts to a local
// webhook receiver; another service then acknowledges each (its own UPDATE) at a random moment
// over 40 seconds. It reports the latency from each acknowledgement's commit to the receipt of
// its alert.acknowledged follow-up, p50 and p99 (target: p99 ≤ 2 s), and the worker's own share,
// from the commit to the follow-up's delivery queued (queued_p50/p99). The binary is built
// without the race detector.
//
//	go test -run='^$' -bench=FollowupLatency -benchtime=1x -count=3 ./cmd/opsworker/
func BenchmarkFollowupLatency(b *testing.B) {
	const n, over = 200, 40 * time.Second
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	bin := benchBinary(b)
	for range b.N {
		b.StopTimer()
		url, pool := benchDatabase(b)
		var mu sync.Mutex
		paged, told := map[int64]time.Time{}, map[int64]time.Time{}
		allPaged, allTold := make(chan struct{}), make(chan struct{})
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var body struct {
				Type  string
				Alert struct{ ID int64 } `json:"alert"`
			}
			raw, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(raw, &body)
			now := time.Now()
			mu.Lock()
			switch body.Type {
			case "alert.paged":
				if _, ok := paged[body.Alert.ID]; !ok {
					paged[body.Alert.ID] = now
					if len(paged) == n {
						close(allPaged)
					}
				}
			case "alert.acknowledged":
				if _, ok := told[body.Alert.ID]; !ok {
					told[body.Alert.ID] = now
					if len(told) == n {
						close(allTold)
					}
				}
			}
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		}))
		seedWebhookAlerts(b, pool, n, secret, rcv.URL)
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "HTTP_ADDR=127.0.0.1:0", "LOG_LEVEL=warn", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		count := func(m map[int64]time.Time) int {
			mu.Lock()
			defer mu.Unlock()
			return len(m)
		}
		waitFor := func(all chan struct{}, within time.Duration) bool {
			select {
			case <-all:
				return true
			case <-time.After(within):
				return false
			}
		}
		if !waitFor(allPaged, 2*time.Minute) {
			b.Fatalf("%d of %d pages reached the receiver", count(paged), n)
		}
		ids := make([]int64, 0, n)
		mu.Lock()
		for id := range paged {
			ids = append(ids, id)
		}
		mu.Unlock()
		at := make([]time.Duration, n)
		for i := range at {
			at[i] = time.Duration(rand.Int64N(int64(over)))
		}
		slices.Sort(at)
		committed := map[int64]time.Time{}
		b.StartTimer()
		start := time.Now()
		for i, d := range at {
			time.Sleep(time.Until(start.Add(d)))
			dbtest.Exec(b, pool, `update alerts set status = 'acknowledged', acknowledged_at = now(), acknowledged_by = 'bench (API)' where id = $1`, ids[i])
			committed[ids[i]] = time.Now()
		}
		all := waitFor(allTold, time.Minute)
		b.StopTimer()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		rcv.Close()
		// The worker's own share: from the commit to the follow-up's delivery queued (its row's
		// created_at, the followups run's transaction; the same host's clock).
		rows, err := pool.Query(context.Background(), `select u.alert_id, d.created_at from deliveries d join followups u on u.id = d.source_id
		                                              where d.message = 'followup'`)
		if err != nil {
			b.Fatal(err)
		}
		var queued []time.Duration
		for rows.Next() {
			var id int64
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				b.Fatal(err)
			}
			queued = append(queued, at.Sub(committed[id]))
		}
		rows.Close()
		pool.Close()
		if len(queued) != n {
			b.Fatalf("%d of %d follow-ups queued", len(queued), n)
		}
		slices.Sort(queued)
		b.ReportMetric(float64(queued[n/2].Milliseconds()), "queued_p50_ms")
		b.ReportMetric(float64(queued[n*99/100].Milliseconds()), "queued_p99_ms")
		if !all {
			b.Logf("queued: p50 %s p99 %s", queued[n/2], queued[n*99/100])
			b.Fatalf("%d of %d follow-ups reached the receiver within a minute of the last acknowledgement "+
				"(the followups task queues them; delivery must send deliveries.message = 'followup')", count(told), n)
		}
		var lat []time.Duration
		mu.Lock()
		for id, c := range committed {
			lat = append(lat, told[id].Sub(c))
		}
		mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[n/2].Milliseconds()), "p50_ms")
		b.ReportMetric(float64(lat[n*99/100].Milliseconds()), "p99_ms")
	}
}

// benchBinary builds the command without the race detector, for the latency benchmarks.
func benchBinary(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "opsworker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v: %s", err, out)
	}
	return bin
}

// benchDatabase is a fresh database and a pool on it (closed by the benchmark).
func benchDatabase(b *testing.B) (string, *pgxpool.Pool) {
	url := dbtest.NewURL(b)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	return url, pool
}
