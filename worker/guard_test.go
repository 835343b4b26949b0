package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/schema"
)

// logBuffer collects a worker's log lines, safe for its goroutines' writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newWorker loads the configuration from the test's environment and returns a Worker logging
// into logs, shut down when t ends.
func newWorker(t *testing.T, logs io.Writer) *Worker {
	t.Helper()
	cfg, err := LoadConfig(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	w := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	return w
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A build older than the database, whose newer migration is not additive, stands down: it
// starts (its HTTP endpoints answer), runs nothing, works no delivery, and says why — once in
// the log and on /readyz — naming both versions. `run` refuses the same way.
func TestOlderBuildStandsDown(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	newer := schema.Version() + 1
	dbtest.Exec(t, pool, `insert into goose_db_version (version_id, is_applied) values ($1, true)`, newer)
	dbtest.Exec(t, pool, `insert into schema_compatibility (version, floor) values ($1, $1)`, newer)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	t.Setenv("ESCALATION_SCHEDULE", "@every 1s")
	var logs logBuffer
	w := newWorker(t, &logs)
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("database schema version %d is newer than this build's %d", newer, schema.Version())
	code, body := httpGet(t, "http://"+w.Addr().String()+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, want) {
		t.Errorf("/readyz: %d %q", code, body)
	}
	if code, _ := httpGet(t, "http://"+w.Addr().String()+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d (a restart would not help: it must not be killed)", code)
	}
	if w.sched.Load() != nil || w.deliveries != nil {
		t.Error("a scheduler or a delivery queue was started")
	}
	if n := strings.Count(logs.String(), "stood down"); n != 1 || !strings.Contains(logs.String(), want) {
		t.Errorf("%d stood-down lines:\n%s", n, logs.String())
	}
	if n := dbtest.Int64(t, pool, `select count(*) from job_runs`); n != 0 {
		t.Errorf("%d runs recorded", n)
	}
	r := newWorker(t, io.Discard)
	if _, err := r.RunOnce(context.Background(), "escalation", time.Now()); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("RunOnce: %v", err)
	}
}

// A migration that a newer build declares additive lets the older build go on.
func TestOlderBuildRunsOnAnAdditiveSchema(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	newer := schema.Version() + 1
	dbtest.Exec(t, pool, `insert into goose_db_version (version_id, is_applied) values ($1, true)`, newer)
	dbtest.Exec(t, pool, `insert into schema_compatibility (version, floor) values ($1, $2)`, newer, schema.Version())
	t.Setenv("DATABASE_URL", url)
	r := newWorker(t, io.Discard)
	run, err := r.RunOnce(context.Background(), "escalation", time.Now())
	if err != nil || run.Status != "succeeded" {
		t.Fatalf("run: %+v, %v", run, err)
	}
}

// A build newer than the database, with MIGRATE=false, waits up to DATABASE_WAIT for another
// process to migrate: it goes on once the migration lands, and gives up naming both versions
// when it does not.
func TestNewerBuildWaitsForTheMigration(t *testing.T) {
	url := dbtest.NewEmptyURL(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("MIGRATE", "false")
	t.Setenv("DATABASE_WAIT", "1s")
	w := newWorker(t, io.Discard)
	_, err := w.RunOnce(context.Background(), "escalation", time.Now())
	want := fmt.Sprintf("database schema version 0 is older than this build's %d", schema.Version())
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "DATABASE_WAIT=1s") {
		t.Fatalf("RunOnce on an unmigrated database: %v", err)
	}

	t.Setenv("DATABASE_WAIT", "60s")
	pool := dbtest.NewPool(t, url)
	var logs logBuffer
	w = newWorker(t, &logs)
	done := make(chan error, 1)
	go func() {
		_, err := w.RunOnce(context.Background(), "escalation", time.Now())
		done <- err
	}()
	for !strings.Contains(logs.String(), "waiting for the database's migration") {
		select {
		case err := <-done:
			t.Fatalf("RunOnce returned before the migration: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := schema.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("RunOnce after the migration: %v", err)
	}
}

// A running process stands down within a heartbeat when a newer, incompatible build migrates the
// database under it (a rolling upgrade): its scheduler stops, and /readyz says why.
func TestRunningBuildStandsDownWhenMigratedUnder(t *testing.T) {
	url := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, url)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	var logs logBuffer
	w := newWorker(t, &logs)
	w.beatEvery = 50 * time.Millisecond
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := httpGet(t, "http://"+w.Addr().String()+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz before: %d", code)
	}
	newer := schema.Version() + 1
	dbtest.Exec(t, pool, `insert into schema_compatibility (version, floor) values ($1, $1)`, newer)
	dbtest.Exec(t, pool, `insert into goose_db_version (version_id, is_applied) values ($1, true)`, newer)
	deadline := time.Now().Add(10 * time.Second)
	for w.sched.Load().Running() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if w.sched.Load().Running() {
		t.Fatal("the scheduler still runs")
	}
	if code, body := httpGet(t, "http://"+w.Addr().String()+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "stood down") {
		t.Errorf("/readyz after: %d %q", code, body)
	}
}
