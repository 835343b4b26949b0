package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/worker"
)

// fakeJob is a task that does nothing, for registering through the registry alone.
type fakeJob struct{}

func (fakeJob) Name() string { return "fake" }
func (fakeJob) Run(context.Context, time.Time) (scheduler.Summary, error) {
	return scheduler.Summary{}, nil
}

// register adds td to the registry for the test's duration.
func register(t *testing.T, td worker.Task) {
	saved := worker.Tasks
	worker.Tasks = append(worker.Tasks[:len(worker.Tasks):len(worker.Tasks)], td)
	t.Cleanup(func() { worker.Tasks = saved })
}

// syncBuffer is a bytes.Buffer safe for the logger's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A task registered through the registry alone — one entry, nothing else — is configured from
// its variable, shown by `schedule` and `run --help`, runnable by `run`, scheduled by `serve`,
// and has its series on /metrics from the start.
func TestOneRegistryEntryIsATask(t *testing.T) {
	register(t, worker.Task{Name: "fake", Variable: "FAKE_SCHEDULE", Default: "@every 1h", Conns: 1,
		Summary: "does nothing, for a test", New: func(worker.Deps) scheduler.Job { return fakeJob{} }})
	t.Setenv("DATABASE_URL", dbtest.NewURL(t))
	t.Setenv("LOG_FORMAT", "json")

	if code, out, errs := cli(t, "schedule"); code != exitOK || !strings.Contains(out, "fake (FAKE_SCHEDULE)\n  spec: @every 1h") {
		t.Fatalf("schedule: exit %d\n%s%s", code, out, errs)
	}
	t.Setenv("FAKE_SCHEDULE", "*/10 * * * *")
	if code, out, _ := cli(t, "schedule"); code != exitOK || !strings.Contains(out, "fake (FAKE_SCHEDULE)\n  spec: */10 * * * *") {
		t.Fatalf("schedule does not read FAKE_SCHEDULE:\n%s", out)
	}
	t.Setenv("FAKE_SCHEDULE", "every ten minutes")
	if code, _, errs := cli(t, "schedule"); code != exitUsage || !strings.Contains(errs, `"variable":"FAKE_SCHEDULE"`) || !strings.Contains(errs, `"value":"every ten minutes"`) {
		t.Fatalf("a bad FAKE_SCHEDULE: exit %d: %s", code, errs)
	}
	t.Setenv("FAKE_SCHEDULE", "@every 1h")
	if _, out, _ := cli(t, "run", "--help"); !strings.Contains(out, "  fake         does nothing, for a test") {
		t.Fatalf("run --help does not list the task:\n%s", out)
	}
	if _, out, _ := cli(t, "serve", "--help"); !strings.Contains(out, "FAKE_SCHEDULE") {
		t.Fatalf("serve --help does not list its variable:\n%s", out)
	}
	if code, out, errs := cli(t, "run", "fake"); code != exitOK || !strings.Contains(out, `"job":"fake","status":"succeeded"`) {
		t.Fatalf("run fake: exit %d\n%s%s", code, out, errs)
	}

	t.Setenv("HTTP_ADDR", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	served := make(chan int, 1)
	go func() { served <- dispatch(ctx, ioStreams{io.Discard, &logs}, []string{"serve"}) }()
	addr := waitForLine(t, &logs, "opsworker started")["http_addr"].(string)
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`opsworker_job_runs_total{outcome="succeeded",task="fake",trigger="schedule"} 0`,
		`opsworker_job_runs_total{outcome="failed",task="fake",trigger="notify"} 0`,
		`opsworker_job_run_duration_seconds_count{task="fake"} 0`,
		`opsworker_job_last_success_timestamp_seconds{task="fake"} 0`,
		`opsworker_job_skipped_total{reason="overlap",task="fake"} 0`,
		`opsworker_job_last_success_timestamp_seconds{task="escalation"} 0`,
		`opsworker_job_run_duration_seconds_count{task="report"} 0`,
		`opsworker_build_info{goversion="go`,
		`pgxpool_max_connections`,
		`pgxpool_connections{state="acquired"}`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	cancel()
	if code := <-served; code != exitOK {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
}

// waitForLine waits for the JSON log line with message msg.
func waitForLine(t *testing.T, logs *syncBuffer, msg string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
				return m
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q line:\n%s", msg, logs.String())
	return nil
}
