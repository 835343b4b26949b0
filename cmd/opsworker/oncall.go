package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/worker"
)

func newOncallCmd(s ioStreams) *cobra.Command {
	var at, until string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "oncall SCHEDULE_ID [--at T] [--until T] [--json]",
		Short: "who is on call at T (default now), or the shifts from --at to --until",
		Long: withEnv("Answers who is on call for a schedule at one instant (--at, default now), or prints its shifts from\n"+
			"--at to --until (at most 366 days), times in the schedule's zone, gaps marked. Instants are RFC 3339\n"+
			"within the supported range. --json prints the shapes README.md documents. Exits 1 for an unknown\n"+
			"schedule.",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: scheduleIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, _ := strconv.ParseInt(args[0], 10, 64)
			from, err := instantFlag(cmd, "at", time.Now())
			if err != nil {
				return err
			}
			to, err := instantFlag(cmd, "until", time.Time{})
			if err != nil {
				return err
			}
			if !to.IsZero() {
				if err := oncall.CheckWindow(from, to); err != nil {
					return usageErrorf("--until %v", err)
				}
			}
			return printOncall(cmd.Context(), s, id, from, to, asJSON)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the RFC 3339 instant to ask about, or the window's start with --until (default: now)")
	cmd.Flags().StringVar(&until, "until", "", "print the shifts from --at to this RFC 3339 instant")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// printOncall prints who is on call for schedule id at from, or its shifts from from to until (when
// until is not zero).
func printOncall(ctx context.Context, s ioStreams, id int64, at, until time.Time, asJSON bool) error {
	pool, _, err := connect(ctx, s, false, "cannot read the schedule")
	if err != nil {
		return err
	}
	defer worker.CloseWithin(pool, time.Second)
	sched, err := oncall.Load(ctx, pool, id, at)
	if errors.Is(err, oncall.ErrNotFound) {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("there is no schedule %d", id)}
	}
	if err != nil {
		return &exitError{code: exitFailure, msg: err.Error()}
	}

	if until.IsZero() {
		if asJSON {
			return printJSON(s.stdout, sched.AnswerAt(at))
		}
		r, ok := sched.OnCall(at)
		fmt.Fprintf(s.stdout, "%s (schedule %d, %s) at %s\n", sched.Name, id, sched.Location, at.In(sched.Location).Format(humanTime))
		if ok {
			fmt.Fprintf(s.stdout, "  on call: %s (responder %d)\n", r.Name, r.ID)
		} else {
			fmt.Fprintln(s.stdout, "  nobody is on call (a gap)")
		}
		return nil
	}

	if asJSON {
		return printJSON(s.stdout, sched.AnswerShifts(at, until))
	}
	shifts := sched.Shifts(at, until)
	fmt.Fprintf(s.stdout, "%s (schedule %d, %s), %s to %s\n", sched.Name, id, sched.Location,
		at.In(sched.Location).Format(humanTime), until.In(sched.Location).Format(humanTime))
	for _, sh := range shifts {
		who := "GAP: nobody on call"
		if sh.Responder != nil {
			who = fmt.Sprintf("%s (responder %d)", sh.Responder.Name, sh.Responder.ID)
		}
		fmt.Fprintf(s.stdout, "  %s  →  %s  %8s  %s\n", sh.Start.In(sched.Location).Format(humanTime),
			sh.End.In(sched.Location).Format(humanTime), oncall.Length(sh.End.Sub(sh.Start)), who)
	}
	return nil
}

const humanTime = "Mon 2006-01-02 15:04 MST"

func printJSON(w io.Writer, v any) error {
	if err := json.NewEncoder(w).Encode(v); err != nil {
		return &exitError{code: exitFailure, msg: "encode JSON: " + err.Error()}
	}
	return nil
}
