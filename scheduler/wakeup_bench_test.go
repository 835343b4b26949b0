package scheduler

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/opsworker/opsworker/dbtest"
)

// wakeBench is a scheduler on the real clock with one trivial job, woken up by notifications on
// channel bench_wake through Listen, and a connection that sends them.
type wakeBench struct {
	pool    *pgxpool.Pool
	conn    *pgxpool.Conn
	s       *Scheduler
	starts  chan time.Time // each run's start, as the job sees it
	runs    atomic.Int64
	stopped func()
}

func newWakeBench(b *testing.B) *wakeBench {
	w := &wakeBench{pool: dbtest.New(b), starts: make(chan time.Time, 10000)}
	w.s = New(w.pool, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: NewMetrics(prometheus.NewRegistry())})
	spec, err := ParseSpec("@yearly", time.UTC, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	if err := w.s.Add(spec, funcJob{"bench", func(context.Context, time.Time) (Summary, error) {
		w.runs.Add(1)
		w.starts <- time.Now()
		return nil, nil
	}}); err != nil {
		b.Fatal(err)
	}
	w.s.Start()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := w.pool.Config().ConnConfig.Copy()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = w.s.Listen(ctx, ListenOptions{ConnConfig: cfg, Jobs: map[string]string{"bench_wake": "bench"}})
	}()
	if w.conn, err = w.pool.Acquire(context.Background()); err != nil {
		b.Fatal(err)
	}
	w.stopped = func() {
		w.conn.Release()
		cancel()
		<-done
		shutdown(w.s, 5*time.Second)
	}
	<-w.starts // the catch-up run once listening
	return w
}

// notify commits one notification on bench_wake, in its own transaction.
func (w *wakeBench) notify(b *testing.B) {
	if _, err := w.conn.Exec(context.Background(), "select pg_notify('bench_wake', '')"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWakeUpLatency: a notification committed (pg_notify in its own transaction) to the
// job's Run being called, at a low rate (one notification every 60 ms: outside the coalescing
// window, as alerts arriving one at a time). Reports p50 and p99 in milliseconds.
//
//	go test -run='^$' -bench=WakeUpLatency -benchtime=1x -count=5 ./scheduler/
func BenchmarkWakeUpLatency(b *testing.B) {
	w := newWakeBench(b)
	defer w.stopped()
	const samples = 200
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		for range samples {
			time.Sleep(coalesceWindow + 10*time.Millisecond) // the pace of the load, not a wait for the code
			sent := time.Now()
			w.notify(b)
			select {
			case at := <-w.starts:
				lat = append(lat, at.Sub(sent))
			case <-time.After(10 * time.Second):
				b.Fatal("no run within 10 s of a notification")
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
}

// BenchmarkWakeUpBurst: 1,000 notifications, each committed in its own transaction as fast as
// one connection can, as a burst of 1,000 separate inserts would send them. Reports how many runs
// they caused, how long the burst took to send, and how long from the first notification until
// the last run had started.
//
//	go test -run='^$' -bench=WakeUpBurst -benchtime=1x -count=5 ./scheduler/
func BenchmarkWakeUpBurst(b *testing.B) {
	w := newWakeBench(b)
	defer w.stopped()
	const burst = 1000
	wakeups := w.s.metrics.wakeups.WithLabelValues("bench")
	var runs, sending, settled float64
	b.ResetTimer()
	for range b.N {
		time.Sleep(2 * coalesceWindow)
		before, heard := w.runs.Load(), testutil.ToFloat64(wakeups)
		first := time.Now()
		for range burst {
			w.notify(b)
		}
		sent := time.Now()
		// Every notification has been heard once the wake-up counter has counted them; the
		// first run to start after that is the last of the burst.
		for testutil.ToFloat64(wakeups) < heard+burst {
			time.Sleep(time.Millisecond)
		}
		allHeard := time.Now()
		var last time.Time
		for last.Before(allHeard) {
			select {
			case last = <-w.starts:
			case <-time.After(10 * time.Second):
				b.Fatal("no run after the burst")
			}
		}
		if n := len(w.s.lookup("bench").soon); n != 0 {
			b.Fatalf("a wake-up still pending after the last run of the burst started")
		}
		runs += float64(w.runs.Load() - before)
		sending += ms(sent.Sub(first))
		settled += ms(last.Sub(first))
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(runs/n, "runs/burst")
	b.ReportMetric(sending/n, "send-ms")
	b.ReportMetric(settled/n, "last-run-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
