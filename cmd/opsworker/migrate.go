package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/worker"
)

func newMigrateCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "apply the database migrations, then exit",
		Long: withEnv("Applies every pending migration, whatever MIGRATE says, and exits. Replicas starting together\n"+
			"migrate once: the others wait on the migration lock and find nothing left to do.",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pool, _, err := connect(cmd.Context(), s, true, "migration failed")
			if err != nil {
				return err
			}
			worker.CloseWithin(pool, time.Second)
			fmt.Fprintln(s.stdout, "database is up to date")
			return nil
		},
	}
}
