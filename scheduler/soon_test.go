package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// RunSoon: a burst of requests is one run (trigger notify), a request during a run causes
// exactly one more run after it, and an unknown job is refused.
func TestRunSoon(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	spec, err := ParseSpec("@yearly", time.UTC, time.Now()) // never fires during the test
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	if err := s.Add(spec, funcJob{"soon", func(ctx context.Context, _ time.Time) (Summary, error) {
		started <- struct{}{}
		<-release
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	if s.RunSoon("nobody") {
		t.Error("RunSoon accepted an unknown job")
	}
	s.Start()
	defer shutdown(s, 5*time.Second)

	for range 20 { // a burst
		s.RunSoon("soon")
	}
	<-started     // the burst's one run
	for range 5 { // requests during the run
		s.RunSoon("soon")
	}
	release <- struct{}{}
	<-started // exactly one more
	release <- struct{}{}
	f.tap.waitFor(t, "run finished")
	f.tap.waitFor(t, "run finished")
	select {
	case <-started:
		t.Fatal("a third run: requests did not fold")
	case <-time.After(3 * coalesceWindow):
	}
	rows := runs(t, f.pool, "soon")
	if len(rows) != 2 {
		t.Fatalf("%d runs, want 2: %+v", len(rows), rows)
	}
	var triggers []string
	if err := f.pool.QueryRow(context.Background(), `select array_agg(trigger order by id) from job_runs where job = 'soon'`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if triggers[0] != TriggerNotify || triggers[1] != TriggerNotify {
		t.Errorf("triggers %v", triggers)
	}
	if n := testutil.ToFloat64(f.metrics.wakeups.WithLabelValues("soon")); n != 25 {
		t.Errorf("wake-ups counted %v, want 25", n)
	}
	if n := testutil.ToFloat64(f.metrics.runs.WithLabelValues("soon", statusSucceeded, TriggerNotify)); n != 2 {
		t.Errorf("runs by trigger %v, want 2", n)
	}
}
