package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/pgnotify"
	"github.com/opsworker/opsworker/scheduler"
)

func newServeCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "run the scheduler, the HTTP endpoints and every task on its spec (the default)",
		Long: withEnv("Runs every enabled task on its cron spec, with /healthz, /readyz and /metrics on HTTP_ADDR, until\n"+
			"SIGTERM or SIGINT; then it drains: no new runs, running ones get SHUTDOWN_TIMEOUT to finish before\n"+
			"their contexts are cancelled, and it exits 0 within SHUTDOWN_TIMEOUT + 5s. At start it waits up to\n"+
			"DATABASE_WAIT for the database, answering /healthz meanwhile.",
			append([]string{"DATABASE_URL", "DATABASE_WAIT", "MIGRATE", "CRON_TZ", "JOB_TIMEOUT", "SHUTDOWN_TIMEOUT", "HTTP_ADDR",
				"LOG_FORMAT", "LOG_LEVEL", "REPORT_CATCHUP_DAYS", "ESCALATION_ON_NOTIFY", "DELIVERY_WORKERS", "DELIVERY_MAX_ATTEMPTS", "DELIVERY_TIMEOUT",
				"DELIVERY_ALLOW_NETWORKS", "SMTP_URL", "SMTP_FROM", "CONSOLE_USERS"}, specVariables()...)...),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), s) },
	}
}

// Bounds of the shutdown's last steps, after the scheduler has drained (SHUTDOWN_TIMEOUT plus
// its own grace of a few seconds): the process exits within SHUTDOWN_TIMEOUT + 5s whatever the
// network does.
const (
	httpShutdown = 500 * time.Millisecond
	poolClose    = 500 * time.Millisecond
)

// serve runs the service until ctx ends (SIGTERM or SIGINT), then drains. The HTTP endpoints
// come first, so a platform sees a live process while it waits for the database.
func serve(ctx context.Context, s ioStreams) error {
	cfg, log, err := setup(s)
	if err != nil {
		return err
	}
	var (
		pool  atomic.Pointer[pgxpool.Pool]
		sched atomic.Pointer[scheduler.Scheduler]
	)
	reg := newRegistry()
	registerIntervals(reg, cfg)
	p := probes{
		healthy: func() (bool, string) {
			if sc := sched.Load(); sc != nil {
				if sc.Running() {
					return true, "ok"
				}
				return false, "scheduler not running"
			}
			return true, "starting: waiting for the database"
		},
		ready: func(ctx context.Context) error {
			pl := pool.Load()
			if pl == nil {
				return errors.New("waiting for the database")
			}
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return pl.Ping(ctx)
		},
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		log.Error("cannot start", "error", err, "variable", "HTTP_ADDR")
		return failed
	}
	ui := newConsoleSlot(cfg)
	srv := &http.Server{Handler: newMux(p, reg, ui), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("HTTP endpoints up", "http_addr", ln.Addr().String())
	defer func() {
		hctx, cancel := context.WithTimeout(context.Background(), httpShutdown)
		defer cancel()
		if err := srv.Shutdown(hctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = srv.Close()
		}
	}()

	pl, err := connect(ctx, cfg, log, cfg.Migrate)
	if err != nil {
		if ctx.Err() != nil {
			log.Info("signal received while waiting for the database: stopped")
			return nil
		}
		log.Error("cannot start", "error", err)
		return failed
	}
	defer closeWithin(pl, poolClose)
	registerPool(reg, pl)
	pool.Store(pl)

	queue, deliveries, err := newDelivery(cfg, pl, reg, log, true)
	if err != nil {
		log.Error("cannot start", "error", err)
		return failed
	}
	if err := ui.start(ctx, cfg, pl, queue, log); err != nil {
		log.Error("cannot start", "error", err)
		return failed
	}
	if cfg.DeliveryWorkers > 0 {
		if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
			log.Error("cannot start the delivery queue", "error", err)
			return failed
		}
	} else {
		log.Info("delivery off in this process: pages are queued for other processes (DELIVERY_WORKERS=0)")
	}

	sc := scheduler.New(pl, scheduler.Options{Instance: cfg.instance, Timeout: cfg.JobTimeout, Logger: log, Metrics: scheduler.NewMetrics(reg)})
	for _, td := range registry {
		spec := cfg.specs[td.Name]
		if spec == nil {
			log.Info("task off", "job", td.Name, "variable", td.Variable)
			continue
		}
		if err := sc.Add(*spec, td.New(taskDeps{cfg: cfg, pool: pl, reg: reg, deliveries: deliveries})); err != nil {
			log.Error("cannot start", "error", err)
			return failed
		}
		for _, note := range spec.DSTNotes(cfg.loaded, cfg.loaded.AddDate(1, 0, 0)) {
			log.Info("spec meets a DST change", "job", td.Name, "note", note.Text)
		}
	}
	sc.Start()
	sched.Store(sc)
	listening, stopListening := context.WithCancel(context.WithoutCancel(ctx))
	defer stopListening()
	for _, td := range registry {
		if td.WakeChannel != "" && cfg.specs[td.Name] != nil && cfg.EscalationOnNotify {
			go wakeOnNotify(listening, cfg, td, sc, reg, log)
		}
	}
	log.Info("opsworker started", append([]any{"version", version, "http_addr", ln.Addr().String(), "instance", cfg.instance},
		jobsAttr(sc.Entries()))...)

	select {
	case <-ctx.Done():
		log.Info("signal received: shutting down", "shutdown_timeout", cfg.ShutdownTimeout.String())
	case err := <-served:
		log.Error("HTTP server stopped: shutting down", "error", err)
	}
	// The scheduler and the delivery queue drain together, each within SHUTDOWN_TIMEOUT: running
	// runs and attempts finish or are cancelled (an attempt cut short is retried by River).
	stopListening()
	dctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if cfg.DeliveryWorkers > 0 {
			stopQueue(dctx, queue, log)
		}
	}()
	sc.Shutdown(dctx)
	<-stopped
	log.Info("opsworker stopped")
	return nil
}

// wakeOnNotify listens on td's channel and asks the scheduler for a run of td at each
// notification, and after each (re)connection: notifications sent while the listener was away
// are lost, so it catches up once.
func wakeOnNotify(ctx context.Context, cfg *config, td taskDef, sc *scheduler.Scheduler, reg prometheus.Registerer, log *slog.Logger) {
	reconnects := prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "opsworker_listener_reconnects_total",
		Help:        "Times the notification listener had to reconnect (a restart, a terminated backend, a network cut).",
		ConstLabels: prometheus.Labels{"channel": td.WakeChannel},
	})
	reg.MustRegister(reconnects)
	l := &pgnotify.Listener{
		Config:   cfg.pool.ConnConfig.Copy(),
		Channel:  td.WakeChannel,
		Notified: func(string) { sc.RunSoon(td.Name) },
		Connected: func(reconnect bool) {
			if reconnect {
				reconnects.Inc()
				log.Info("notification listener reconnected: one catch-up run", "job", td.Name, "channel", td.WakeChannel)
			} else {
				log.Debug("notification listener up", "job", td.Name, "channel", td.WakeChannel)
			}
			sc.RunSoon(td.Name)
		},
		Logger: log,
	}
	l.Run(ctx)
}

// stopQueue stops the delivery queue: running attempts get until ctx's deadline, then are
// cancelled, and the stop waits at most a second more.
func stopQueue(ctx context.Context, queue *river.Client[pgx.Tx], log *slog.Logger) {
	if err := queue.Stop(ctx); err == nil {
		return
	}
	log.Warn("shutdown timeout passed: cancelling running deliveries")
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := queue.StopAndCancel(cctx); err != nil {
		log.Error("delivery queue did not stop", "error", err)
	}
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
