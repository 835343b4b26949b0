package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// setup loads the configuration and builds the logger. A bad configuration is returned as is,
// for dispatch to print as one line with exit code 2, before anything touches the database.
func setup(s ioStreams) (*config, *slog.Logger, error) {
	cfg, err := loadConfig(time.Now())
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg.LogFormat, cfg.level, s.stderr)
	slog.SetDefault(log)
	return cfg, log, nil
}

// session is what a command that works on the database holds: its configuration, logger and
// pool. Close it when done.
type session struct {
	cfg  *config
	log  *slog.Logger
	pool *pgxpool.Pool
}

// openSession sets up, connects and, when migrate is set, migrates. what names the command's
// purpose for the failure line ("cannot load the demo data"). A failure is logged here and
// returned as failed (exit 1), a bad configuration as itself (exit 2).
func openSession(ctx context.Context, s ioStreams, migrate bool, what string) (*session, error) {
	cfg, log, err := setup(s)
	if err != nil {
		return nil, err
	}
	pool, err := connect(ctx, cfg, log, migrate)
	if err != nil {
		log.Error(what, "error", err)
		return nil, failed
	}
	return &session{cfg: cfg, log: log, pool: pool}, nil
}

// Close closes the pool, within a bound.
func (ss *session) Close() { closeWithin(ss.pool, time.Second) }
