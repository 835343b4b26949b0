package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/worker"
)

func newScheduleCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "schedule",
		Short: "print each task's spec, zone, next 5 firings and DST notes, without a database",
		Long: withEnv("Prints what the current environment's specs mean: each task's spec and zone, its next five\n"+
			"firings and how DST changes in the next twelve months touch it. It needs no database, so a spec\n"+
			"from a .env file can be tried before it is deployed.",
			append(worker.SpecVariables(), "CRON_TZ")...),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, _, err := setup(s)
			if err != nil {
				return err
			}
			now := cfg.Loaded
			for i, td := range worker.Tasks {
				if i > 0 {
					fmt.Fprintln(s.stdout)
				}
				spec := cfg.Specs[td.Name]
				fmt.Fprintf(s.stdout, "%s (%s)\n", td.Name, td.Variable)
				if spec == nil {
					fmt.Fprintln(s.stdout, "  off")
					continue
				}
				fmt.Fprintf(s.stdout, "  spec: %s\n  zone: %s\n", spec.Text, spec.Location)
				for j, t := range spec.Upcoming(now, 5) {
					label := "next:"
					if j > 0 {
						label = "     "
					}
					fmt.Fprintf(s.stdout, "  %s %s\n", label, t.Format("Mon 2006-01-02 15:04:05 MST"))
				}
				for _, n := range spec.DSTNotes(now, now.AddDate(1, 0, 0)) {
					fmt.Fprintf(s.stdout, "  DST:  %s\n", n.Text)
				}
			}
			return nil
		},
	}
}
