package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/tasks/handoff"
	"github.com/opsworker/opsworker/worker"
)

func newHandoffCmd(s ioStreams) *cobra.Command {
	var from, until string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "handoff SCHEDULE_ID [--from T] [--until T] [--json]",
		Short: "print the handoff notices a window would send (default the next 24 hours)",
		Long: withEnv("Prints the notices the handoff task sends for a schedule from --from (default now) to --until (default\n"+
			"24 hours later, at most 366 days): to each subscription at each change of who is on call, and to the\n"+
			"responder coming on HANDOFF_LEAD before it, with their texts and recipients, in the order they are\n"+
			"sent, times in the schedule's zone. It computes what the task computes and writes nothing: see a\n"+
			"handoff before it happens. --json prints the preview as README.md documents it. Exits 1 for an\n"+
			"unknown schedule.",
			"DATABASE_URL", "DATABASE_WAIT", "HANDOFF_LEAD", "LOG_FORMAT", "LOG_LEVEL"),
		Args: scheduleIDArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			id, _ := strconv.ParseInt(args[0], 10, 64)
			start, err := instantFlag(cmd, "from", time.Now())
			if err != nil {
				return err
			}
			end, err := instantFlag(cmd, "until", start.Add(24*time.Hour))
			if err != nil {
				return err
			}
			if err := oncall.CheckWindow(start, end); err != nil {
				return usageErrorf("--until %v", err)
			}
			return printHandoff(cmd.Context(), s, id, start, end, asJSON)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the window's RFC 3339 start (default: now)")
	cmd.Flags().StringVar(&until, "until", "", "the window's RFC 3339 end (default: 24 hours after --from)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

// scheduleIDArg accepts exactly one argument, a schedule id.
func scheduleIDArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErrorf("name one SCHEDULE_ID")
	}
	if id, err := strconv.ParseInt(args[0], 10, 64); err != nil || id <= 0 {
		return usageErrorf("SCHEDULE_ID %q is not a schedule id (a positive whole number)", args[0])
	}
	return nil
}

// printHandoff prints the notices schedule id's window (from, until] sends.
func printHandoff(ctx context.Context, s ioStreams, id int64, from, until time.Time, asJSON bool) error {
	cfg, log, err := setup(s)
	if err != nil {
		return err
	}
	pool, err := worker.Connect(ctx, cfg, log, false)
	if err != nil {
		log.Error("cannot read the schedule", "error", err)
		return failed
	}
	defer worker.CloseWithin(pool, time.Second)
	p, err := handoff.Window(ctx, pool, id, from, until, cfg.HandoffLead)
	if errors.Is(err, oncall.ErrNotFound) {
		return &exitError{code: exitFailure, msg: fmt.Sprintf("there is no schedule %d", id)}
	}
	if err != nil {
		return &exitError{code: exitFailure, msg: err.Error()}
	}
	if asJSON {
		return printJSON(s.stdout, p)
	}
	fmt.Fprintf(s.stdout, "%s (schedule %d, %s), %s to %s, lead %s\n", p.Name, id, p.TimeZone, p.From.Format(humanTime),
		p.Until.Format(humanTime), oncall.Length(cfg.HandoffLead))
	if len(p.Subscriptions) == 0 {
		fmt.Fprintln(s.stdout, "  no subscriptions: changes are told only to the responders coming on call")
	}
	if len(p.Notices) == 0 {
		fmt.Fprintln(s.stdout, "  no notices: nobody comes on or goes off call in this window")
	}
	loc := p.From.Location()
	for _, n := range p.Notices {
		var to string
		if n.Kind == "changed" {
			to = fmt.Sprintf("subscription %d (%s)", n.To.SubscriptionID, n.To.Channel)
		} else {
			var via []string
			for _, cm := range n.To.ContactMethods {
				via = append(via, fmt.Sprintf("%s %d", cm.Kind, cm.ID))
			}
			to = fmt.Sprintf("%s (responder %d) by %s", n.To.Responder.Name, n.To.Responder.ID, strings.Join(via, ", "))
			if len(via) == 0 {
				to = fmt.Sprintf("%s (responder %d), who has no enabled contact method: it fails", n.To.Responder.Name, n.To.Responder.ID)
			}
		}
		fmt.Fprintf(s.stdout, "  %s  %-8s  to %s\n      %s\n", n.SendAt.In(loc).Format(humanTime), n.Kind, to, n.Text)
	}
	return nil
}
