package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
)

// fakeJob is a task that does nothing, for registering through the registry alone.
type fakeJob struct{}

func (fakeJob) Name() string { return "fake" }
func (fakeJob) Run(context.Context, time.Time) (scheduler.Summary, error) {
	return scheduler.Summary{}, nil
}

// register adds td to the registry for the test's duration.
func register(t *testing.T, td taskDef) {
	saved := registry
	registry = append(registry[:len(registry):len(registry)], td)
	t.Cleanup(func() { registry = saved })
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
	register(t, taskDef{Name: "fake", Variable: "FAKE_SCHEDULE", Default: "@every 1h", Conns: 1,
		Summary: "does nothing, for a test", New: func(taskDeps) scheduler.Job { return fakeJob{} }})
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
	if code, _, errs := cli(t, "schedule"); code != exitUsage || !strings.Contains(errs, `FAKE_SCHEDULE="every ten minutes"`) {
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
		`opsworker_job_runs_total{job="fake",outcome="succeeded",trigger="schedule"} 0`,
		`opsworker_job_runs_total{job="fake",outcome="failed",trigger="notify"} 0`,
		`opsworker_job_run_duration_seconds_count{job="fake"} 0`,
		`opsworker_job_last_success_timestamp_seconds{job="fake"} 0`,
		`opsworker_job_skipped_total{job="fake",reason="overlap"} 0`,
		`opsworker_job_last_success_timestamp_seconds{job="escalation"} 0`,
		`opsworker_job_run_duration_seconds_count{job="report"} 0`,
		`opsworker_build_info{goversion="go`,
		`pgxpool_max_conns`,
		`pgxpool_acquired_conns`,
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

// The registry and the configuration agree: every entry builds a job of its own name, its default
// spec parses, its variable is its own (not also a field of env) and documented with its default
// in README.md and compose.yaml, like every other variable opsworker reads.
func TestRegistryAgreesWithConfiguration(t *testing.T) {
	readme := readFile(t, "../../README.md")
	compose := readFile(t, "../../compose.yaml")
	envVars := map[string]bool{}
	et := reflect.TypeFor[env]()
	for i := range et.NumField() {
		envVars[et.Field(i).Tag.Get("envconfig")] = true
	}
	names := map[string]bool{}
	for _, td := range registry {
		if names[td.Name] || names[td.Variable] {
			t.Errorf("%s: name or variable used twice", td.Name)
		}
		names[td.Name], names[td.Variable] = true, true
		if envVars[td.Variable] {
			t.Errorf("%s: %s is also a field of env", td.Name, td.Variable)
		}
		if job := td.New(taskDeps{cfg: &config{}}); job.Name() != td.Name {
			t.Errorf("registry entry %q builds job %q", td.Name, job.Name())
		}
		if _, err := loadConfig(time.Now()); err != nil {
			t.Errorf("the defaults do not load: %v", err)
		}
		if td.Conns < 1 || td.Summary == "" || td.New == nil {
			t.Errorf("%s: incomplete entry %+v", td.Name, td)
		}
	}
	for _, v := range variables() {
		row := regexp.MustCompile("(?m)^\\| `" + v.Name + "` \\| (.*?) \\|")
		m := row.FindStringSubmatch(readme)
		switch {
		case m == nil:
			t.Errorf("README.md's configuration table lacks %s", v.Name)
		case v.Default != "" && m[1] != "`"+v.Default+"`":
			t.Errorf("README.md gives %s the default %s, opsworker %q", v.Name, m[1], v.Default)
		}
		if v.Name == "DATABASE_URL" {
			continue // compose builds it from POSTGRES_PASSWORD
		}
		def := v.Default
		if v.Name == "DELIVERY_ALLOW_NETWORKS" {
			def = "172.31.250.10/32" // compose's demo receiver, on its own fixed address
		}
		if want := v.Name + ": ${" + v.Name + ":-" + def + "}"; !strings.Contains(compose, want) {
			t.Errorf("compose.yaml does not pass %s from .env with opsworker's default: want %q", v.Name, want)
		}
	}
}

// README.md stands on its own: it names nothing outside the repository, and documents what a
// new user needs that is not a variable of opsworker's.
func TestREADMEIsSelfContained(t *testing.T) {
	readme := readFile(t, "../../README.md")
	if i := strings.Index(readme, "../"); i >= 0 {
		t.Errorf("README.md points outside the repository: %q", readme[max(0, i-40):min(len(readme), i+40)])
	}
	for _, want := range []string{"POSTGRES_PASSWORD", "--version", "bench/escalation-floor.sh", "pool_max_conns"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
	if _, err := os.Stat("../../bench/escalation-floor.sh"); err != nil {
		t.Errorf("the benchmark script the README cites: %v", err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
