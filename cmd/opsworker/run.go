package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/scheduler"
)

func newRunCmd(s ioStreams) *cobra.Command {
	var at string
	var lines []string
	for _, td := range registry {
		lines = append(lines, fmt.Sprintf("  %-12s %s", td.Name, td.Summary))
	}
	cmd := &cobra.Command{
		Use:   "run TASK [--at RFC3339]",
		Short: "run one task once, now (or as if at --at), then exit",
		Long: withEnv("Runs TASK once through the scheduler's lock, deadline and history, as if at --at (default now), and\n"+
			"prints the run as JSON: run_id, job, status, error, started_at, finished_at, duration_seconds, summary.\n"+
			"Exits 1 if the run failed or another process is running the task.\n\nTasks:\n"+strings.Join(lines, "\n"),
			"DATABASE_URL", "DATABASE_WAIT", "MIGRATE", "JOB_TIMEOUT", "LOG_FORMAT", "LOG_LEVEL", "REPORT_CATCHUP_DAYS"),
		ValidArgs: taskNamesList(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name one task: %s", taskNames())
			}
			if _, ok := findTask(args[0]); !ok {
				return usageErrorf("unknown task %q; known tasks: %s", args[0], taskNames())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			now, err := instantFlag(cmd, "at", time.Now())
			if err != nil {
				return err
			}
			td, _ := findTask(args[0])
			ss, err := openSession(cmd.Context(), s, true, "cannot run")
			if err != nil {
				return err
			}
			defer ss.Close()
			reg := prometheus.NewRegistry()
			_, deliveries, err := newDelivery(ss.cfg, ss.pool, reg, ss.log, false)
			if err != nil {
				ss.log.Error("cannot run", "job", td.Name, "error", err)
				return failed
			}
			sched := scheduler.New(ss.pool, scheduler.Options{Instance: ss.cfg.instance, Timeout: ss.cfg.JobTimeout, Logger: ss.log})
			job := td.New(taskDeps{cfg: ss.cfg, pool: ss.pool, reg: reg, deliveries: deliveries})
			run, err := sched.RunNow(cmd.Context(), job, now)
			if errors.Is(err, scheduler.ErrLocked) {
				ss.log.Error("not run: another process is running this task now; try again when it has finished", "job", td.Name)
				return failed
			}
			printRun(s, run)
			if err != nil {
				return failed // the scheduler has logged why
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "act as if the run happened at this RFC 3339 instant (default: now)")
	return cmd
}

// printRun prints a run as one JSON object on stdout.
func printRun(s ioStreams, run scheduler.Run) {
	out := struct {
		RunID           int64             `json:"run_id"`
		Job             string            `json:"job"`
		Status          string            `json:"status"`
		Error           *string           `json:"error"`
		ScheduledAt     *time.Time        `json:"scheduled_at"`
		StartedAt       *time.Time        `json:"started_at"`
		FinishedAt      *time.Time        `json:"finished_at"`
		DurationSeconds *float64          `json:"duration_seconds"`
		Summary         scheduler.Summary `json:"summary"`
	}{RunID: run.ID, Job: run.Job, Status: run.Status, Summary: run.Summary}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	out.ScheduledAt, out.StartedAt, out.FinishedAt = opt(run.ScheduledAt), opt(run.StartedAt), opt(run.FinishedAt)
	if run.Error != "" {
		out.Error = &run.Error
	}
	if !run.StartedAt.IsZero() && !run.FinishedAt.IsZero() {
		d := run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond).Seconds()
		out.DurationSeconds = &d
	}
	b, err := json.Marshal(out)
	if err != nil { // a summary the scheduler could store is always encodable; say so if not
		b, _ = json.Marshal(map[string]any{"run_id": run.ID, "job": run.Job, "status": run.Status, "unencodable": err.Error()})
	}
	fmt.Fprintln(s.stdout, string(b))
}
