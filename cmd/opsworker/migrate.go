package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/schema"
	"github.com/opsworker/opsworker/worker"
)

func newMigrateCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "apply the database migrations, then exit",
		Long: withEnv("Applies every pending migration, whatever MIGRATE says, and exits. Replicas starting together\n"+
			"migrate once: the others wait on the migration lock and find nothing left to do. A database that a\n"+
			"newer build has migrated is left alone: exit 0 when this build may still run on it (every newer\n"+
			"migration is additive), 1 when it must stand down; both versions are named.",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pool, log, err := connect(cmd.Context(), s, true, "migration failed")
			if err != nil {
				return err
			}
			defer worker.CloseWithin(pool, time.Second)
			state, err := schema.ReadState(cmd.Context(), pool)
			switch {
			case err != nil:
				log.Error("migration failed", "error", err)
				return failed
			case !state.Runnable():
				log.Error("this build cannot run on this database", "schema", state.String(),
					"database_version", state.Database, "build_version", state.Build)
				return failed
			case state.Ahead():
				fmt.Fprintln(s.stdout, state.String()+": nothing to migrate")
			default:
				fmt.Fprintf(s.stdout, "database is up to date (schema version %d)\n", state.Database)
			}
			return nil
		},
	}
}
