package main

import (
	"context"

	"github.com/spf13/cobra"
)

func newServeCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the scheduler, the HTTP endpoints and every task on its spec (the default)",
		Long: withEnv("Runs every enabled task on its cron spec, with /healthz, /readyz and /metrics on HTTP_ADDR, until\n"+
			"SIGTERM or SIGINT; then it drains: no new runs, running ones get SHUTDOWN_TIMEOUT to finish before\n"+
			"their contexts are cancelled, and it exits 0 within SHUTDOWN_TIMEOUT + 5s. At start it waits up to\n"+
			"DATABASE_WAIT for the database, answering /healthz meanwhile.",
			allVariables()...),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), s) },
	}
}

// serve runs the service until ctx ends (SIGTERM or SIGINT) or its HTTP server fails, then
// drains.
func serve(ctx context.Context, s ioStreams) error {
	w, log, err := newWorker(s)
	if err != nil {
		return err
	}
	defer w.Shutdown(context.Background())
	if err := w.Start(ctx); err != nil {
		if ctx.Err() != nil {
			log.Info("signal received while waiting for the database: stopped")
			return nil
		}
		log.Error("cannot start", "error", err)
		return failed
	}
	select {
	case <-ctx.Done():
		log.Info("signal received: shutting down", "shutdown_timeout", w.Config().ShutdownTimeout.String())
	case err := <-w.Failed():
		log.Error("HTTP server stopped: shutting down", "error", err)
	}
	return nil
}
