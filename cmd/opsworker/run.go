package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/worker"
)

func newRunCmd(s ioStreams) *cobra.Command {
	var at string
	var allowFuture bool
	var lines []string
	for _, td := range worker.Tasks {
		lines = append(lines, fmt.Sprintf("  %-12s %s", td.Name, td.Summary))
	}
	cmd := &cobra.Command{
		Use:   "run TASK [--at RFC3339]",
		Short: "run one task once, now (or as if at --at), then exit",
		Long: withEnv("Runs TASK once through the scheduler's lock, deadline and history, as if at --at (default now), and\n"+
			"prints the run as JSON: run_id, job, status, error, scheduled_at, started_at, finished_at,\n"+
			"duration_seconds, summary. An --at more than "+worker.MaxFuture.String()+" ahead of the clock needs --allow-future: a\n"+
			"run stamps what it writes with it, and a report would cover days that have not ended.\n"+
			"Exits 1 if the run failed or another process is running the task. It reads the whole configuration,\n"+
			"as serve does (a task's options, and a bad value anywhere stops it).\n\nTasks:\n"+strings.Join(lines, "\n"),
			allVariables()...),
		ValidArgs: worker.TaskNames(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name one task: %s", strings.Join(worker.TaskNames(), ", "))
			}
			if _, ok := worker.FindTask(args[0]); !ok {
				return usageErrorf("unknown task %q; known tasks: %s", args[0], strings.Join(worker.TaskNames(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			clock := time.Now()
			now, err := instantFlag(cmd, "at", clock)
			if err != nil {
				return err
			}
			if err := worker.CheckFuture(now, clock, allowFuture); err != nil {
				return usageErrorf("--at: %v", err)
			}
			return runOnce(cmd.Context(), s, args[0], now)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "act as if the run happened at this RFC 3339 instant (default: now)")
	cmd.Flags().BoolVar(&allowFuture, "allow-future", false, "allow an --at more than "+worker.MaxFuture.String()+" ahead of the clock (tests, replays, demos)")
	return cmd
}

func runOnce(ctx context.Context, s ioStreams, task string, now time.Time) error {
	w, log, err := newWorker(s)
	if err != nil {
		return err
	}
	defer w.Shutdown(context.Background())
	run, err := w.RunOnce(ctx, task, now)
	if errors.Is(err, scheduler.ErrLocked) {
		log.Error("not run: another process is running this task now; try again when it has finished", "job", task)
		return failed
	}
	if run.Job == "" { // it did not get as far as the scheduler: the database
		log.Error("cannot run", "job", task, "error", err)
		return failed
	}
	printRun(s, run)
	if err != nil {
		return failed // the scheduler has logged why
	}
	return nil
}

// printRun prints a run as one JSON object on stdout.
func printRun(s ioStreams, run scheduler.Run) {
	b, err := json.Marshal(run)
	if err != nil { // a summary the scheduler could store is always encodable; say so if not
		b, _ = json.Marshal(map[string]any{"run_id": run.ID, "job": run.Job, "status": run.Status, "unencodable": err.Error()})
	}
	fmt.Fprintln(s.stdout, string(b))
}
