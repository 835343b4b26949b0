package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/dbtest"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// opsworkerBinary builds the command once per test process, as the image does.
func opsworkerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "opsworker-e2e")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "opsworker")
		out, err := exec.Command("go", "build", "-race", "-ldflags=-X main.version=e2e", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildError{out: string(out), err: err}
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binary
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// withPassword puts a password into a database URL; the local server's trust auth ignores it,
// so the test can check that it never shows.
func withPassword(url, password string) string {
	return strings.Replace(url, "postgres://postgres@", "postgres://postgres:"+password+"@", 1)
}

// jsonLines decodes the process's JSON log lines onto a channel, and keeps the raw text.
type jsonLines struct {
	lines chan map[string]any
	mu    sync.Mutex
	raw   strings.Builder
	done  chan struct{}
}

func readJSONLines(t *testing.T, r io.Reader) *jsonLines {
	j := &jsonLines{lines: make(chan map[string]any, 10000), done: make(chan struct{})}
	go func() {
		defer close(j.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			j.mu.Lock()
			j.raw.WriteString(sc.Text() + "\n")
			j.mu.Unlock()
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("log line is not JSON: %q", sc.Text())
				continue
			}
			j.lines <- m
		}
	}()
	return j
}

func (j *jsonLines) waitFor(t *testing.T, msg string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case m := <-j.lines:
			if m["msg"] == msg && (match == nil || match(m)) {
				return m
			}
		case <-timeout:
			t.Fatalf("no log line %q within 60s; log so far:\n%s", msg, j.text())
		}
	}
}

// next waits for the next log line, at most 60 s.
func (j *jsonLines) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m := <-j.lines:
		return m
	case <-time.After(60 * time.Second):
		t.Fatalf("no log line within 60s; log so far:\n%s", j.text())
		return nil
	}
}

func (j *jsonLines) text() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.raw.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeEndToEnd(t *testing.T) {
	bin := opsworkerBinary(t)
	dbURL := dbtest.NewURL(t)
	const password = "e2e-Secret-9f3"
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+withPassword(dbURL, password),
		"HTTP_ADDR=127.0.0.1:0",
		"LOG_FORMAT=json",
		"LOG_LEVEL=debug",
		"ESCALATION_SCHEDULE=@every 1s",
		"REPORT_SCHEDULE=@every 1s",
		"SHUTDOWN_TIMEOUT=10s",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	logs := readJSONLines(t, stderr)

	started := logs.waitFor(t, "opsworker started", nil)
	if started["version"] != "e2e" {
		t.Errorf("start-up line without the version: %v", started)
	}
	jobs, _ := started["jobs"].(map[string]any)
	esc, _ := jobs["escalation"].(map[string]any)
	if esc["spec"] != "@every 1s" || esc["next"] == nil || jobs["report"] == nil {
		t.Errorf("start-up line does not list the jobs with spec and next firing: %v", started)
	}
	base := "http://" + started["http_addr"].(string)
	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d", code)
	}
	for _, job := range []string{"escalation", "report"} {
		logs.waitFor(t, "run finished", func(m map[string]any) bool { return m["job"] == job && m["run_id"] != nil })
	}
	code, metrics := get(t, base+"/metrics")
	for _, want := range []string{
		`opsworker_job_runs_total{outcome="succeeded",task="escalation",trigger="schedule"}`,
		`opsworker_job_run_duration_seconds_bucket{task="report"`,
		`opsworker_job_last_success_timestamp_seconds{task="escalation"}`,
		`opsworker_job_skipped_total{reason="overlap",task="escalation"} 0`,
		"opsworker_escalation_pages_total",
		"opsworker_report_reports_written_total",
		"go_goroutines",
	} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	logs.waitFor(t, "drained: all runs finished", nil)
	logs.waitFor(t, "opsworker stopped", nil)
	<-logs.done
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d", cmd.ProcessState.ExitCode())
	}

	all := logs.text()
	if strings.Contains(all, password) {
		t.Error("the database password appears in the log")
	}
	for _, line := range strings.Split(strings.TrimSpace(all), "\n") {
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		if m["run_id"] != nil && m["job"] == nil {
			t.Errorf("a run's line without job: %s", line)
		}
	}

	pool, err := pgxpool.New(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var succeeded, unfinished int
	if err := pool.QueryRow(context.Background(), `
		select count(*) filter (where status = 'succeeded' and job = 'escalation'),
		       count(*) filter (where status = 'running')
		  from job_runs`).Scan(&succeeded, &unfinished); err != nil {
		t.Fatal(err)
	}
	if succeeded < 1 || unfinished != 0 {
		t.Errorf("job_runs: %d escalation runs succeeded, %d still running after the drain", succeeded, unfinished)
	}
}

func TestServeExitsTwoOnABadSpec(t *testing.T) {
	bin := opsworkerBinary(t)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "ESCALATION_SCHEDULE=every minute", "DATABASE_URL=postgres://postgres@127.0.0.1:1/none")
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 2 {
		t.Fatalf("exit: %v, output %q", err, out)
	}
	if lines := strings.Split(strings.TrimSpace(string(out)), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "ESCALATION_SCHEDULE") {
		t.Fatalf("want one line naming ESCALATION_SCHEDULE, got %q", out)
	}
}
