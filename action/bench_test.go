package action_test

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/vocab"
)

// BenchmarkActPost is POST /act/<token> on this machine, over real HTTP against PostgreSQL: b.N
// alerts, each paged (so every acknowledgement also records its follow-up change and notifies),
// each acknowledged through its link. "saturated": 16 clients POST back to back — the throughput,
// posts/s. "at500": the POSTs are sent at 500 a second, each on its own — the latency a responder
// sees at that load, p50/p99. Targets: ≥ 500/s, p99 ≤ 50 ms.
//
//	go test -run='^$' -bench=ActPost -benchtime=3000x -count=5 ./action/
func BenchmarkActPost(b *testing.B) {
	b.Run("saturated", func(b *testing.B) { benchPosts(b, 16, 0) })
	b.Run("at500", func(b *testing.B) { benchPosts(b, 0, time.Second/500) })
}

// benchPosts acknowledges b.N alerts by their links: with clients goroutines back to back, or
// (clients 0) one POST every interval, each in its own goroutine.
func benchPosts(b *testing.B, clients int, interval time.Duration) {
	pool := dbtest.New(b)
	signer, err := action.NewSigner(action.Options{PublicURL: "https://ops.example.com", TTL: time.Hour,
		Secret: base64.StdEncoding.EncodeToString([]byte("benchmark key of thirty-two byte"))})
	if err != nil {
		b.Fatal(err)
	}
	h, err := action.NewHandler(action.HandlerOptions{Pool: pool, Signer: signer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	dbtest.Exec(b, pool, `insert into tenants (id, name) values ('acme', 'Acme')`)
	r := dbtest.Int64(b, pool, `insert into responders (tenant_id, name) values ('acme', 'Carol') returning id`)
	dbtest.Exec(b, pool, `insert into alerts (tenant_id, source, summary) select 'acme', 'bench', 'alert ' || i from generate_series(1, $1) i`, b.N)
	dbtest.Exec(b, pool, `insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step)
	                     select 'acme', id, $1, 'escalation', 0, 0 from alerts`, r)
	dbtest.Exec(b, pool, `vacuum analyze`)
	links := make(chan string, b.N)
	now := time.Now()
	for id := range int64(b.N) {
		links <- srv.URL + strings.TrimPrefix(signer.Links(id+1, r, now).Acknowledge, "https://ops.example.com")
	}
	close(links)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, b.N)
	post := func(link string) bool {
		t := time.Now()
		resp, err := client.Post(link, "", nil)
		if err != nil {
			b.Error(err)
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(t)
		mu.Lock()
		latencies = append(latencies, d)
		mu.Unlock()
		if resp.StatusCode != 200 {
			b.Errorf("POST: %d", resp.StatusCode)
			return false
		}
		return true
	}
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	if clients > 0 {
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for link := range links {
					if !post(link) {
						return
					}
				}
			}()
		}
	} else {
		i := 0
		for link := range links {
			time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
			i++
			wg.Add(1)
			go func() {
				defer wg.Done()
				post(link)
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := dbtest.Int64(b, pool, `select count(*) from alerts where status = $1`, string(vocab.AlertAcknowledged)); n != int64(b.N) {
		b.Fatalf("%d of %d alerts acknowledged", n, b.N)
	}
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "posts/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99_ms")
}

// BenchmarkFailedCheck is the cost of a failed token check: Verify of a tampered token against
// one key and against two (a rotation), and the whole 403 answer through the handler (page
// rendered, counted; the limit set high so every request is checked), and the 429 answer of an
// address over its limit (no check at all).
//
//	go test -run='^$' -bench=FailedCheck -count=5 ./action/
func BenchmarkFailedCheck(b *testing.B) {
	key := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	one, _ := action.NewSigner(action.Options{PublicURL: "https://ops.example.com", TTL: time.Hour, Secret: key("benchmark key of thirty-two byte")})
	two, _ := action.NewSigner(action.Options{PublicURL: "https://ops.example.com", TTL: time.Hour,
		Secret: key("the new key, thirty-two bytes ok") + "," + key("benchmark key of thirty-two byte")})
	token := strings.TrimPrefix(one.Links(42, 7, time.Now()).Acknowledge, "https://ops.example.com/act/")
	tampered := token[:20] + flip(token[20]) + token[21:]
	b.Run("verify/one-key", func(b *testing.B) {
		for b.Loop() {
			if _, err := one.Verify(tampered, time.Now()); err == nil {
				b.Fatal("verified")
			}
		}
	})
	b.Run("verify/two-keys", func(b *testing.B) {
		for b.Loop() {
			if _, err := two.Verify(tampered, time.Now()); err == nil {
				b.Fatal("verified")
			}
		}
	})
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	for name, burst := range map[string]int{"handler/403": 1 << 30, "handler/429": 1} {
		h, err := action.NewHandler(action.HandlerOptions{Signer: one, Logger: quiet, FailBurst: burst, FailEvery: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		want := http.StatusForbidden
		if burst == 1 {
			want = http.StatusTooManyRequests
			req := httptest.NewRequest(http.MethodPost, "/act/"+tampered, nil)
			h.ServeHTTP(httptest.NewRecorder(), req) // spends the one failure
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/act/"+tampered, nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != want {
					b.Fatalf("%d, want %d", w.Code, want)
				}
			}
		})
	}
}
