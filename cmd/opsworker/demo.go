package main

import (
	"context"
	"fmt"

	opsql "github.com/opsworker/opsworker/sql"
)

// demoCmd migrates the database and loads the demo data (sql/demo.sql), so
// that a fresh `docker compose --profile demo up` shows a page in the logs within a minute.
func demoCmd(ctx context.Context, s ioStreams, args []string) int {
	if code, ok := parseNoArgs(s, "demo", args); !ok {
		return code
	}
	cfg, log, code := setup(s)
	if code != exitOK {
		return code
	}
	pool, err := connect(ctx, cfg, log, true)
	if err != nil {
		log.Error("cannot load the demo data", "error", err)
		return exitFailure
	}
	defer pool.Close()
	if err := opsql.LoadDemo(ctx, pool); err != nil {
		log.Error("cannot load the demo data", "error", err)
		return exitFailure
	}
	fmt.Fprintln(s.stdout, "demo data loaded: tenant demo, and a new triggered alert that escalates on the next run")
	return exitOK
}
