package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/worker"
)

// cli runs the command line in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(context.Background(), ioStreams{&out, &errb}, args)
	return code, out.String(), errb.String()
}

// The CLI is cobra's: help for every command (listing what it reads from the environment),
// `help CMD`, completion scripts, suggestions for a mistyped command, --version, and the exit codes
// (2 for usage, 1 for a runtime failure).
func TestCLI(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?connect_timeout=1")
	t.Setenv("DATABASE_WAIT", "0s")
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		stdout  []string
		stderr  []string
		notJust string // stdout must not be only this
	}{
		{name: "version", args: []string{"--version"}, stdout: []string{"opsworker " + version + "\n"}},
		{name: "help lists commands", args: []string{"--help"}, stdout: []string{"serve", "run", "schedule", "migrate", "oncall", "handoff", "heartbeat", "demo", "healthcheck", "completion", "--version"}},
		{name: "help run", args: []string{"help", "run"}, stdout: []string{"Tasks:", "escalation", "report", "Environment:", "DATABASE_URL", "JOB_TIMEOUT"}},
		{name: "run --help lists tasks", args: []string{"run", "--help"}, stdout: []string{"Tasks:\n  escalation", "\n  report"}},
		{name: "serve --help lists every variable", args: []string{"serve", "--help"}, stdout: []string{"ESCALATION_SCHEDULE", "REPORT_SCHEDULE", "HANDOFF_SCHEDULE", "HEARTBEATS_SCHEDULE", "HANDOFF_LEAD", "SHUTDOWN_TIMEOUT", "HTTP_ADDR", "MIGRATE", "REPORT_CATCHUP_DAYS"}},
		{name: "schedule --help", args: []string{"schedule", "--help"}, stdout: []string{"ESCALATION_SCHEDULE", "CRON_TZ"}},
		{name: "oncall --help", args: []string{"oncall", "--help"}, stdout: []string{"--until", "--json", "DATABASE_URL"}},
		{name: "healthcheck --help", args: []string{"healthcheck", "--help"}, stdout: []string{"HTTP_ADDR"}},
		{name: "handoff --help", args: []string{"handoff", "--help"}, stdout: []string{"--from", "--until", "--json", "HANDOFF_LEAD", "DATABASE_URL"}},
		{name: "heartbeat --help", args: []string{"heartbeat", "--help"}, stdout: []string{"ping", "list"}},
		{name: "heartbeat ping --help", args: []string{"heartbeat", "ping", "--help"}, stdout: []string{"--url", "--timeout", "HTTP_ADDR"}},
		{name: "heartbeat list --help", args: []string{"heartbeat", "list", "--help"}, stdout: []string{"--tenant", "--json", "DATABASE_URL"}},
		{name: "heartbeat pong", args: []string{"heartbeat", "pong"}, code: exitUsage, stderr: []string{`unknown command "pong": ping or list`}},
		{name: "heartbeat ping without a token", args: []string{"heartbeat", "ping"}, code: exitUsage, stderr: []string{"name one TOKEN"}},
		{name: "completion bash", args: []string{"completion", "bash"}, stdout: []string{"bash completion", "__opsworker"}},
		{name: "completion zsh", args: []string{"completion", "zsh"}, stdout: []string{"#compdef opsworker"}},
		{name: "completion fish", args: []string{"completion", "fish"}, stdout: []string{"complete -c opsworker"}},
		{name: "mistyped command", args: []string{"sevre"}, code: exitUsage, stderr: []string{`unknown command "sevre"`, "Did you mean this?", "serve"}},
		{name: "unknown flag", args: []string{"run", "escalation", "--bogus"}, code: exitUsage, stderr: []string{"unknown flag: --bogus", "opsworker run --help"}},
		{name: "run without a task", args: []string{"run"}, code: exitUsage, stderr: []string{"name one task: escalation, report"}},
		{name: "run an unknown task", args: []string{"run", "escalate"}, code: exitUsage, stderr: []string{`unknown task "escalate"; known tasks: escalation, report`}},
		{name: "oncall -5", args: []string{"oncall", "-5"}, code: exitUsage, stderr: []string{"SCHEDULE_ID -5 is not a schedule id"}},
		{name: "oncall abc", args: []string{"oncall", "abc"}, code: exitUsage, stderr: []string{`SCHEDULE_ID "abc" is not a schedule id`}},
		{name: "serve takes no arguments", args: []string{"serve", "now"}, code: exitUsage, stderr: []string{"takes no arguments"}},
		{name: "empty --at", args: []string{"run", "escalation", "--at", ""}, code: exitUsage, stderr: []string{"--at is empty"}},
		{name: "empty --at=", args: []string{"oncall", "1", "--at="}, code: exitUsage, stderr: []string{"--at is empty"}},
		{name: "bad --at", args: []string{"run", "report", "--at", "tomorrow"}, code: exitUsage, stderr: []string{`--at "tomorrow" is not an RFC 3339 instant`}},
		{name: "--at before the range", args: []string{"run", "escalation", "--at", "0001-01-01T00:00:00Z"}, code: exitUsage, stderr: []string{"outside the supported range 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z"}},
		{name: "--at in the future", args: []string{"run", "report", "--at", "2199-12-31T00:00:00Z"}, code: exitUsage, stderr: []string{"ahead of the clock", "--allow-future"}},
		{name: "--at after the range", args: []string{"run", "report", "--at", "9999-12-31T00:00:00Z"}, code: exitUsage, stderr: []string{"outside the supported range"}},
		{name: "--until after the range", args: []string{"oncall", "1", "--at", "2199-12-31T00:00:00Z", "--until", "2200-01-01T00:00:00Z"}, code: exitUsage, stderr: []string{"--until: 2200-01-01T00:00:00Z is outside the supported range"}},
		{name: "--at at the range's end", args: []string{"oncall", "1", "--at", "9999-12-31T23:59:59Z", "--json"}, code: exitUsage, stderr: []string{"outside the supported range"}},
		{name: "completion without a shell", args: []string{"completion"}, code: exitUsage, stderr: []string{"name a shell: bash"}},
		{name: "completion tcsh", args: []string{"completion", "tcsh"}, code: exitUsage, stderr: []string{`unknown shell "tcsh"`}},
		{name: "demo --webhook not a URL", args: []string{"demo", "--webhook", "not a url"}, code: exitUsage, stderr: []string{`--webhook "not a url" is not an absolute http:// or https:// URL`}},
		{name: "a runtime failure is 1", args: []string{"migrate"}, code: exitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := cli(t, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errs)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errs)
				}
			}
		})
	}
}

// The completion script is valid bash, and the completions it asks the binary for (cobra's hidden
// __complete command) are the commands and, after run, the task names.
func TestCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine")
	}
	_, script, _ := cli(t, "completion", "bash")
	check := exec.Command(bash, "-n")
	check.Stdin = strings.NewReader(script)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the bash completion script does not parse: %v: %s", err, out)
	}
	for args, want := range map[string][]string{
		"ru":   {"run"},
		"s":    {"schedule", "serve"},
		"run ": worker.TaskNames(),
	} {
		_, out, _ := cli(t, append([]string{"__complete"}, strings.Split(args, " ")...)...)
		var got []string
		for _, line := range strings.Split(out, "\n") {
			if line != "" && !strings.HasPrefix(line, ":") {
				got = append(got, strings.SplitN(line, "\t", 2)[0])
			}
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("completions of %q = %v, want %v", args, got, want)
		}
	}
}

// `run` prints the run as JSON, with its outcome and timings; a failed run prints its error.
func TestRunPrintsTheRun(t *testing.T) {
	t.Setenv("DATABASE_URL", dbtest.NewURL(t))
	t.Setenv("LOG_LEVEL", "error")
	code, out, errs := cli(t, "run", "escalation", "--at", "2027-05-03T10:00:00Z", "--allow-future")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var run map[string]any
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	for _, key := range []string{"run_id", "job", "status", "error", "started_at", "finished_at", "duration_seconds", "summary", "scheduled_at"} {
		if _, ok := run[key]; !ok {
			t.Errorf("no %q in %s", key, out)
		}
	}
	if run["status"] != "succeeded" || run["error"] != nil || run["scheduled_at"] != "2027-05-03T10:00:00Z" {
		t.Errorf("run = %s", out)
	}
	started, _ := time.Parse(time.RFC3339Nano, run["started_at"].(string))
	finished, _ := time.Parse(time.RFC3339Nano, run["finished_at"].(string))
	if d := run["duration_seconds"].(float64); finished.Before(started) || d < 0 || d > finished.Sub(started).Seconds()+0.001 {
		t.Errorf("timings do not add up: %s", out)
	}
}
