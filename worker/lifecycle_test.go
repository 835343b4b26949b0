package worker

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
)

// start loads the configuration from the environment (the test's t.Setenv), starts a Worker in
// this process and shuts it down when t ends, checking the shutdown's bound.
func start(t *testing.T) *Worker {
	t.Helper()
	cfg, err := LoadConfig(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := w.Start(context.Background()); err != nil {
		w.Shutdown(context.Background())
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		began := time.Now()
		w.Shutdown(context.Background())
		if took, bound := time.Since(began), cfg.ShutdownTimeout+5*time.Second; took > bound {
			t.Errorf("shutdown took %s, more than SHUTDOWN_TIMEOUT + 5s = %s", took, bound)
		}
	})
	return w
}

// stuckJob is a task whose run ignores its context until released: the worst a task can do to
// a shutdown.
type stuckJob struct {
	started chan struct{}
	release chan struct{}
}

func (stuckJob) Name() string { return "stuck" }

func (j stuckJob) Run(context.Context, time.Time) (scheduler.Summary, error) {
	close(j.started)
	<-j.release
	return scheduler.Summary{}, nil
}

// The lifecycle in-process: a task registered through the registry alone is started by Start and
// woken by its channel; Shutdown (SIGTERM's path) returns within SHUTDOWN_TIMEOUT + 5 s even
// though the run ignores its cancellation, the run is recorded failed (interrupted), and the
// process's instance row says it stopped.
func TestShutdownIsBoundedWhateverARunDoes(t *testing.T) {
	job := stuckJob{started: make(chan struct{}), release: make(chan struct{})}
	defer close(job.release)
	saved := Tasks
	Tasks = append(Tasks[:len(Tasks):len(Tasks)], Task{Name: "stuck", Variable: "STUCK_SCHEDULE", Default: "@hourly", Conns: 1,
		Summary: "blocks, for a test", WakeChannel: "opsworker_test_stuck", New: func(Deps) scheduler.Job { return job }})
	t.Cleanup(func() { Tasks = saved })
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("SHUTDOWN_TIMEOUT", "1s")
	cfg, err := LoadConfig(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	w := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), "notification listener up"); {
		if time.Now().After(deadline) {
			t.Fatalf("the listener did not come up:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond) // the listener's first connection; its catch-up run may start the job itself
	}
	dbtest.Exec(t, pool, `select pg_notify('opsworker_test_stuck', '')`)
	select {
	case <-job.started:
	case <-time.After(30 * time.Second):
		t.Fatalf("the woken task did not start:\n%s", logs.String())
	}
	began := time.Now()
	w.Shutdown(context.Background())
	if took := time.Since(began); took > cfg.ShutdownTimeout+5*time.Second {
		t.Errorf("shutdown took %s, want at most SHUTDOWN_TIMEOUT + 5s", took)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from worker_instances where stopped_at is not null`); n != 1 {
		t.Errorf("%d instances marked stopped", n)
	}
	if n := dbtest.Int64(t, pool, `select count(*) from job_runs where job = 'stuck' and status = 'running'`); n > 1 {
		t.Errorf("%d stuck runs left running", n)
	}
}
