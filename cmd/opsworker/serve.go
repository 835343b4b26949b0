package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/scheduler"
)

func newServeCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the scheduler, the HTTP endpoints and every task on its spec (the default)",
		Long: withEnv("Runs every enabled task on its cron spec, with /healthz, /readyz and /metrics on HTTP_ADDR, until\n"+
			"SIGTERM or SIGINT; then it drains: no new runs, running ones get SHUTDOWN_TIMEOUT to finish before\n"+
			"their contexts are cancelled, and it exits 0.",
			append([]string{"DATABASE_URL", "MIGRATE", "CRON_TZ", "JOB_TIMEOUT", "SHUTDOWN_TIMEOUT", "HTTP_ADDR",
				"LOG_FORMAT", "LOG_LEVEL", "REPORT_CATCHUP_DAYS"}, specVariables()...)...),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), s) },
	}
}

// serve runs the service until ctx ends (SIGTERM or SIGINT), then drains.
func serve(ctx context.Context, s ioStreams) error {
	ss, err := openSession(ctx, s, true, "cannot start")
	if err != nil {
		return err
	}
	defer ss.Close()
	cfg, log, pool := ss.cfg, ss.log, ss.pool
	if !cfg.Migrate {
		log.Debug("migrations not applied at start (MIGRATE=false)")
	}

	reg := newRegistry(pool)
	sched := scheduler.New(pool, scheduler.Options{Timeout: cfg.JobTimeout, Logger: log, Metrics: scheduler.NewMetrics(reg)})
	for _, td := range registry {
		spec := cfg.specs[td.Name]
		if spec == nil {
			log.Info("task off", "job", td.Name, "variable", td.Variable)
			continue
		}
		if err := sched.Add(*spec, td.New(taskDeps{cfg: cfg, pool: pool, reg: reg})); err != nil {
			log.Error("cannot start", "error", err)
			return failed
		}
		for _, note := range spec.DSTNotes(cfg.loaded, cfg.loaded.AddDate(1, 0, 0)) {
			log.Info("spec meets a DST change", "job", td.Name, "note", note.Text)
		}
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		log.Error("cannot start", "error", err, "variable", "HTTP_ADDR")
		return failed
	}
	srv := &http.Server{Handler: newMux(sched.Running, pool, reg), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	sched.Start()
	log.Info("opsworker started", append([]any{"version", version, "http_addr", ln.Addr().String()}, jobsAttr(sched.Entries()))...)

	select {
	case <-ctx.Done():
		log.Info("signal received: shutting down", "shutdown_timeout", cfg.ShutdownTimeout.String())
	case err := <-served:
		log.Error("HTTP server stopped: shutting down", "error", err)
	}
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	sched.Shutdown(dctx)
	cancel()
	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(hctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("HTTP shutdown", "error", err)
	}
	log.Info("opsworker stopped")
	return nil
}

// jobsAttr describes the scheduled jobs for the start-up line: spec, zone and next firing each.
func jobsAttr(entries []scheduler.Entry) slog.Attr {
	var groups []any
	for _, e := range entries {
		groups = append(groups, slog.Group(e.Job,
			"spec", e.Spec.Text, "zone", e.Spec.Location.String(), "next", e.Next.In(e.Spec.Location).Format(time.RFC3339)))
	}
	return slog.Group("jobs", groups...)
}
