package main

import (
	"context"
	"fmt"
)

// migrateCmd applies pending migrations and exits, whatever MIGRATE says.
func migrateCmd(ctx context.Context, s ioStreams, args []string) int {
	if code, ok := parseNoArgs(s, "migrate", args); !ok {
		return code
	}
	cfg, log, code := setup(s)
	if code != exitOK {
		return code
	}
	pool, err := connect(ctx, cfg, log, true)
	if err != nil {
		log.Error("migration failed", "error", err)
		return exitFailure
	}
	pool.Close()
	fmt.Fprintln(s.stdout, "database is up to date")
	return exitOK
}
