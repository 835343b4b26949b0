package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/schema"
	"github.com/opsworker/opsworker/worker"
)

func newDemoCmd(s ioStreams) *cobra.Command {
	var webhook string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "load the demo tenant (once) and a new triggered alert, then exit",
		Long: withEnv("Migrates the database and loads the demo data (sql/demo.sql): the demo tenant the first time, and\n"+
			"on every call one new triggered alert that the next escalation run pages. The demo responders'\n"+
			"webhooks go to --webhook, signed with the demo tenant's published secret\n"+
			"whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0 (for `opsworker receive`).",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pool, log, err := connect(cmd.Context(), s, true, "cannot load the demo data")
			if err != nil {
				return err
			}
			defer worker.CloseWithin(pool, time.Second)
			if err := schema.LoadDemo(cmd.Context(), pool, webhook); err != nil {
				log.Error("cannot load the demo data", "error", err)
				return failed
			}
			fmt.Fprintln(s.stdout, "demo data loaded: tenant demo, and a new triggered alert that escalates on the next run")
			return nil
		},
	}
	cmd.Flags().StringVar(&webhook, "webhook", schema.DemoWebhook, "where the demo responders' webhooks go (the first load only)")
	return cmd
}
