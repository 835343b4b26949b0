package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/scheduler"
)

// runCmd runs one task once, through the scheduler's lock, deadline and history, and prints the
// run as JSON on stdout.
func runCmd(ctx context.Context, s ioStreams, args []string) int {
	fs := flags(s, "run")
	atFlag := fs.String("at", "", "act as if the run happened at this RFC 3339 instant (default: now)")
	pos, code, ok := parseFlags(fs, s, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintf(s.stderr, "opsworker run: name one task: %s\n", taskNames())
		return exitUsage
	}
	task := pos[0]
	if _, known := findTask(task); !known {
		fmt.Fprintf(s.stderr, "opsworker run: unknown task %q; known tasks: %s\n", task, taskNames())
		return exitUsage
	}
	at := time.Now()
	if *atFlag != "" {
		t, err := time.Parse(time.RFC3339, *atFlag)
		if err != nil {
			fmt.Fprintf(s.stderr, "opsworker run: --at %q is not an RFC 3339 time such as 2027-05-03T10:00:00Z\n", *atFlag)
			return exitUsage
		}
		at = t
	}
	cfg, log, code := setup(s)
	if code != exitOK {
		return code
	}
	pool, err := connect(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		log.Error("cannot run", "job", task, "error", err)
		return exitFailure
	}
	defer pool.Close()
	sched := scheduler.New(pool, scheduler.Options{Timeout: cfg.JobTimeout, Logger: log})
	run, err := sched.RunNow(ctx, newJobs(cfg, pool, prometheus.NewRegistry())[task], at)
	if errors.Is(err, scheduler.ErrLocked) {
		log.Error("not run: another process is running this task now; try again when it has finished", "job", task)
		return exitFailure
	}
	out, _ := json.Marshal(map[string]any{"run_id": run.ID, "job": run.Job, "status": run.Status, "summary": run.Summary})
	fmt.Fprintln(s.stdout, string(out))
	if err != nil {
		return exitFailure // the scheduler has logged why
	}
	return exitOK
}

func findTask(name string) (string, bool) {
	for _, tv := range taskVars {
		if tv.task == name {
			return tv.variable, true
		}
	}
	return "", false
}
