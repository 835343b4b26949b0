package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/opsworker/opsworker/scheduler"
)

// serveCmd runs the service until SIGTERM or SIGINT, then drains: no new runs, running ones get
// SHUTDOWN_TIMEOUT to finish before their contexts are cancelled, and the process exits 0.
func serveCmd(ctx context.Context, s ioStreams, args []string) int {
	if code, ok := parseNoArgs(s, "serve", args); !ok {
		return code
	}
	cfg, log, code := setup(s)
	if code != exitOK {
		return code
	}
	pool, err := connect(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		log.Error("cannot start", "error", err)
		return exitFailure
	}
	defer pool.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	sched := scheduler.New(pool, scheduler.Options{Timeout: cfg.JobTimeout, Logger: log, Metrics: scheduler.NewMetrics(reg)})
	jobs := newJobs(cfg, pool, reg)
	for _, tv := range taskVars {
		spec := cfg.specs[tv.task]
		if spec == nil {
			log.Info("task off", "job", tv.task, "variable", tv.variable)
			continue
		}
		if err := sched.Add(*spec, jobs[tv.task]); err != nil {
			log.Error("cannot start", "error", err)
			return exitFailure
		}
		for _, note := range spec.DSTNotes(cfg.loaded, cfg.loaded.AddDate(1, 0, 0)) {
			log.Info("spec meets a DST change", "job", tv.task, "note", note.Text)
		}
	}

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		log.Error("cannot start", "error", err, "variable", "HTTP_ADDR")
		return exitFailure
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
	return exitOK
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
