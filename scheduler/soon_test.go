package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// RunSoon, on the leading edge: the first request runs at once (the clock never moves); requests
// during that run fold into exactly one more run, which waits for the coalescing window from the
// first run's start; a request once the window has passed runs at once again. Every run is
// recorded with trigger notify, and an unknown job is refused.
func TestRunSoon(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	spec, err := ParseSpec("@yearly", time.UTC, f.clock.Now()) // never fires during the test
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
	e := s.lookup("soon")

	s.RunSoon("soon")
	<-started      // at once: no coalescing window before the first run
	for range 20 { // requests during the run
		s.RunSoon("soon")
	}
	release <- struct{}{}
	f.tap.waitFor(t, "run finished")
	// The one more run waits for the window from the first run's start; the clock has not moved.
	f.tap.waitFor(t, "wake-up waits for the coalescing window")
	select {
	case <-started:
		t.Fatal("the second run started within the coalescing window")
	default:
	}
	f.clock.Advance(coalesceWindow)
	<-started
	if n := len(e.soon); n != 0 {
		t.Fatalf("%d requests still pending after the second run started: the 20 did not fold into it", n)
	}
	release <- struct{}{}
	f.tap.waitFor(t, "run finished")

	f.clock.Advance(time.Second) // well past the window: the next request runs at once
	s.RunSoon("soon")
	<-started
	release <- struct{}{}
	f.tap.waitFor(t, "run finished")

	rows := runs(t, f.pool, "soon")
	if len(rows) != 3 {
		t.Fatalf("%d runs, want 3: %+v", len(rows), rows)
	}
	var triggers []string
	if err := f.pool.QueryRow(context.Background(), `select array_agg(trigger order by id) from job_runs where job = 'soon'`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	for _, tr := range triggers {
		if tr != TriggerNotify {
			t.Errorf("triggers %v", triggers)
		}
	}
	if n := testutil.ToFloat64(f.metrics.wakeups.WithLabelValues("soon")); n != 22 {
		t.Errorf("wake-ups counted %v, want 22", n)
	}
	if n := testutil.ToFloat64(f.metrics.runs.WithLabelValues("soon", statusSucceeded, TriggerNotify)); n != 3 {
		t.Errorf("runs by trigger %v, want 3", n)
	}
}

// A request while a cron firing of the job runs here is served after it, never beside it.
func TestRunSoonWaitsForTheFiring(t *testing.T) {
	f := newFixture(t)
	s := f.scheduler(Options{})
	started := make(chan time.Time)
	release := make(chan struct{})
	if err := s.Add(everySecond(t), funcJob{"busy", func(ctx context.Context, now time.Time) (Summary, error) {
		started <- now
		<-release
		return nil, nil
	}}); err != nil {
		t.Fatal(err)
	}
	s.Start()
	defer shutdown(s, 5*time.Second)
	firing := f.clock.Now().Add(time.Second)
	f.tick(t, 1)
	if now := <-started; !now.Equal(firing) {
		t.Fatalf("the firing ran at %v, want %v", now, firing)
	}
	s.RunSoon("busy")
	select {
	case <-started:
		t.Fatal("a wake-up ran beside the cron firing")
	default:
	}
	release <- struct{}{}
	<-started // the wake-up's run, after the firing's
	release <- struct{}{}
	f.tap.waitFor(t, "run finished")
	f.tap.waitFor(t, "run finished")
	var triggers []string
	if err := f.pool.QueryRow(context.Background(), `select array_agg(trigger order by id) from job_runs where job = 'busy'`).Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if len(triggers) != 2 || triggers[0] != TriggerSchedule || triggers[1] != TriggerNotify {
		t.Fatalf("triggers %v, want the firing then the wake-up", triggers)
	}
}
