// Package worker is the opsworker process: its configuration (each package's options, validated
// by the package that owns them), the pool policy the scheduler's lock and history rely on, the
// registry of tasks, and the lifecycle of `serve` (Start, Shutdown) and `run` (RunOnce): what
// starts in which order, what stops in which order, and the bound of every wait.
//
// The order of Start: the HTTP endpoints first (a platform sees a live process while it waits
// for the database), then the database (waited for up to DATABASE_WAIT, migrated when MIGRATE
// is set), delivery, the console, the scheduler with every enabled task of the registry, and the
// wake-up listeners. Shutdown runs it backwards: no new runs or wake-ups, the scheduler and the
// delivery queue drain together within SHUTDOWN_TIMEOUT, then the HTTP server and the pool close,
// each within a bound — so the process exits within SHUTDOWN_TIMEOUT + 5 s whatever the network
// does.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// Options configure a Worker beyond its Config.
type Options struct {
	// Logger receives every line of the process; default slog.Default().
	Logger *slog.Logger
	// Build is what /metrics reports as opsworker_build_info.
	Build Build
}

// Bounds of the shutdown's last steps, after the scheduler and the delivery queue have drained
// (SHUTDOWN_TIMEOUT plus the scheduler's own grace of a few seconds).
const (
	httpShutdown = 500 * time.Millisecond
	poolClose    = 500 * time.Millisecond
)

// Worker is one opsworker process. New makes it; Start serves (until Shutdown); RunOnce runs one
// task once, without serving. A Worker is used for one of the two, once.
type Worker struct {
	cfg   *Config
	log   *slog.Logger
	build Build
	reg   *prometheus.Registry

	ln     net.Listener
	srv    *http.Server
	served chan error // the HTTP server's end, when it ends on its own
	ui     *consoleSlot
	pings  *slot
	act    *slot

	pool       atomic.Pointer[pgxpool.Pool]
	sched      atomic.Pointer[scheduler.Scheduler]
	deliveries *delivery.Service

	fleet     *fleet
	stood     atomic.Pointer[string] // why this process stood down; nil while it works
	beatStop  context.CancelFunc
	beating   sync.WaitGroup
	beatEvery time.Duration

	stopListening context.CancelFunc
	listeners     sync.WaitGroup
	shutdown      sync.Once
}

// New returns a Worker for cfg. It opens nothing: Start or RunOnce do.
func New(cfg *Config, o Options) *Worker {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Build.Version == "" {
		o.Build.Version = "dev"
	}
	w := &Worker{cfg: cfg, log: o.Logger, build: o.Build, reg: newRegistry(o.Build), served: make(chan error, 1),
		stopListening: func() {}, beatStop: func() {}, beatEvery: heartbeatEvery}
	registerIntervals(w.reg, cfg)
	return w
}

// Registry is the registry /metrics serves.
func (w *Worker) Registry() *prometheus.Registry { return w.reg }

// Addr is the address the HTTP endpoints listen on, once Start has begun; nil before.
func (w *Worker) Addr() net.Addr {
	if w.ln == nil {
		return nil
	}
	return w.ln.Addr()
}

// Failed delivers the HTTP server's error if it stops on its own: the process should then shut
// down.
func (w *Worker) Failed() <-chan error { return w.served }

// Start serves: the HTTP endpoints at once, then, once the database answers (within
// DATABASE_WAIT; ctx ending stops the wait), delivery, the console, the scheduler with every
// enabled task and the wake-up listeners. It returns when all have started, or with the error
// that stopped it; either way call Shutdown afterwards.
func (w *Worker) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", w.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR=%s: %w", w.cfg.HTTPAddr, err)
	}
	w.ln = ln
	w.ui = newConsoleSlot(w.cfg)
	w.pings = &slot{waiting: "not recording pings yet: waiting for the database"}
	w.act = &slot{waiting: "starting: waiting for the database"}
	w.srv = &http.Server{Handler: newMux(w.probes(), w.reg, w.ui, w.act, w.pings), ReadHeaderTimeout: 5 * time.Second}
	go func() { w.served <- w.srv.Serve(ln) }()
	w.log.Info("HTTP endpoints up", "http_addr", ln.Addr().String())

	pool, err := Connect(ctx, w.cfg, w.log, w.cfg.Migrate)
	if err != nil {
		return err
	}
	registerPool(w.reg, pool)
	w.pool.Store(pool)
	state, err := w.awaitSchema(ctx, pool)
	if err != nil {
		return err
	}
	w.fleet = newFleet(pool, w.cfg, w.build.Version, w.reg, w.log)
	if err := w.fleet.register(ctx, time.Now()); err != nil {
		w.log.Warn("cannot register in the fleet; going on", "error", err)
	}
	w.heartbeat()
	if !state.Runnable() {
		w.standDown(state)
		return nil
	}

	w.pings.set(heartbeats.NewHandler(pool, heartbeats.HandlerOptions{Registerer: w.reg, Logger: w.log.With("component", "heartbeat")}))
	if w.deliveries, err = w.newDelivery(pool, true); err != nil {
		return err
	}
	if err := w.ui.start(ctx, w.cfg, pool, w.deliveries.Client(), w.log); err != nil {
		return err
	}
	act, err := actHandler(w.cfg, pool, w.reg, w.log)
	if err != nil {
		return err
	}
	w.act.set(act)
	if w.deliveries.Working() {
		if err := w.deliveries.Start(ctx); err != nil {
			return err
		}
	} else {
		w.log.Info("delivery off in this process: pages are queued for other processes (DELIVERY_WORKERS=0)")
	}

	sc := w.newScheduler(pool)
	for _, td := range Tasks {
		spec := w.cfg.Specs[td.Name]
		if spec == nil {
			w.log.Info("task off", "job", td.Name, "variable", td.Variable)
			continue
		}
		if err := sc.Add(*spec, w.guard(td.New(w.deps(pool)))); err != nil {
			return err
		}
		for _, note := range spec.DSTNotes(w.cfg.Loaded, w.cfg.Loaded.AddDate(1, 0, 0)) {
			w.log.Info("spec meets a DST change", "job", td.Name, "note", note.Text)
		}
	}
	sc.Start()
	w.sched.Store(sc)
	w.listen(ctx, sc)
	w.log.Info("opsworker started", "version", w.build.Version, "http_addr", ln.Addr().String(), "instance", w.cfg.Instance,
		jobsAttr(sc.Entries()))
	return nil
}

// Shutdown stops what Start started, in reverse: no new runs or wake-ups; running runs and
// delivery attempts get SHUTDOWN_TIMEOUT (or until ctx ends, if sooner) to finish, then are
// cancelled; then the HTTP server and the pool close, each within a bound. It returns within
// SHUTDOWN_TIMEOUT + 5 s whatever the database and the network do. It is safe after a Start
// that failed, and after RunOnce.
func (w *Worker) Shutdown(ctx context.Context) {
	w.shutdown.Do(func() { w.drain(ctx) })
}

func (w *Worker) drain(ctx context.Context) {
	w.stopListening()
	w.listeners.Wait()
	w.beatStop()
	w.beating.Wait()
	dctx, cancel := context.WithTimeout(ctx, w.cfg.ShutdownTimeout)
	defer cancel()
	// The scheduler and the delivery queue drain together, each within SHUTDOWN_TIMEOUT: running
	// runs and attempts finish or are cancelled (an attempt cut short is retried by River).
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if w.deliveries != nil {
			// River's soft stop cancels running attempts at SHUTDOWN_TIMEOUT; a second more
			// lets them return.
			qctx, qcancel := context.WithTimeout(context.WithoutCancel(dctx), w.cfg.ShutdownTimeout+time.Second)
			defer qcancel()
			w.deliveries.Stop(qctx)
		}
	}()
	if sc := w.sched.Load(); sc != nil {
		sc.Shutdown(dctx)
	}
	<-stopped
	if w.srv != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), httpShutdown)
		if err := w.srv.Shutdown(hctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = w.srv.Close()
		}
		hcancel()
	}
	if w.fleet != nil {
		fctx, fcancel := context.WithTimeout(context.Background(), poolClose)
		w.fleet.stop(fctx, time.Now())
		fcancel()
	}
	if pool := w.pool.Load(); pool != nil {
		CloseWithin(pool, poolClose)
	}
	if w.sched.Load() != nil {
		w.log.Info("opsworker stopped")
	}
}

// RunOnce runs the task named name once, as if at at, through the scheduler's lock, deadline and
// history (trigger manual), without serving: `opsworker run`. Deliveries it queues are worked by
// the serving processes. It returns scheduler.ErrLocked when another process is running the
// task. Call Shutdown afterwards to close the pool.
func (w *Worker) RunOnce(ctx context.Context, name string, at time.Time) (scheduler.Run, error) {
	td, ok := FindTask(name)
	if !ok {
		return scheduler.Run{}, fmt.Errorf("unknown task %q; known tasks: %s", name, taskList())
	}
	pool := w.pool.Load()
	if pool == nil {
		var err error
		if pool, err = Connect(ctx, w.cfg, w.log, w.cfg.Migrate); err != nil {
			return scheduler.Run{}, err
		}
		w.pool.Store(pool)
	}
	state, err := w.awaitSchema(ctx, pool)
	if err != nil {
		return scheduler.Run{}, err
	}
	if !state.Runnable() {
		return scheduler.Run{}, fmt.Errorf("not run: %s", state)
	}
	if w.deliveries == nil {
		var err error
		if w.deliveries, err = w.newDelivery(pool, false); err != nil {
			return scheduler.Run{}, err
		}
	}
	return w.newScheduler(pool).RunNow(ctx, td.New(w.deps(pool)), at)
}

// newDelivery builds delivery on pool: working the queue when work is set and DELIVERY_WORKERS
// is not 0, else insert-only (pages are queued for the processes that work).
func (w *Worker) newDelivery(pool *pgxpool.Pool, work bool) (*delivery.Service, error) {
	o := w.cfg.Delivery
	o.Logger = w.log
	o.Links = w.cfg.Links
	if w.fleet != nil {
		o.PeersDisagree = func(ctx context.Context) bool { return w.fleet.disagree(ctx, "DELIVERY_ALLOW_NETWORKS") }
	}
	if work {
		o.Registerer = w.reg
	} else {
		o.Workers = 0
	}
	return delivery.New(pool, o)
}

func (w *Worker) newScheduler(pool *pgxpool.Pool) *scheduler.Scheduler {
	o := w.cfg.Scheduler
	o.Logger = w.log
	if w.srv != nil { // serving: the series go to /metrics
		o.Metrics = scheduler.NewMetrics(w.reg)
	}
	return scheduler.New(pool, o)
}

func (w *Worker) deps(pool *pgxpool.Pool) Deps {
	return Deps{Config: w.cfg, Pool: pool, Registerer: w.reg, Deliveries: w.deliveries.Enqueuer(), Logger: w.log}
}

// listen starts the wake-up listener: one connection listening on the channel of every enabled
// task that has one (escalation's only while ESCALATION_ON_NOTIFY is true), each notification
// asking the scheduler for a run of its task, and one catch-up run per task after each
// (re)connection.
func (w *Worker) listen(ctx context.Context, sc *scheduler.Scheduler) {
	jobs := map[string]string{}
	for _, td := range Tasks {
		if td.WakeChannel == "" || w.cfg.Specs[td.Name] == nil || (td.Name == "escalation" && !w.cfg.EscalationOnNotify) {
			continue
		}
		jobs[td.WakeChannel] = td.Name
	}
	if len(jobs) == 0 {
		return
	}
	lctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	w.stopListening = stop
	w.listeners.Add(1)
	go func() {
		defer w.listeners.Done()
		err := sc.Listen(lctx, scheduler.ListenOptions{ConnConfig: w.cfg.Pool.ConnConfig.Copy(), Jobs: jobs, Registerer: w.reg, Logger: w.log})
		if err != nil {
			w.log.Error("wake-ups off: the listener cannot start", "error", err)
		}
	}()
}

// probes answer /healthz and /readyz.
func (w *Worker) probes() probes {
	return probes{
		healthy: func() (bool, string) {
			if why := w.stood.Load(); why != nil {
				return true, "stood down: " + *why // alive and right to wait: a restart would not help
			}
			if sc := w.sched.Load(); sc != nil {
				if sc.Running() {
					return true, "ok"
				}
				return false, "scheduler not running"
			}
			return true, "starting: waiting for the database"
		},
		ready: func(ctx context.Context) error {
			pl := w.pool.Load()
			if pl == nil {
				return errors.New("waiting for the database")
			}
			if why := w.stood.Load(); why != nil {
				return errors.New("stood down: " + *why)
			}
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			return pl.Ping(ctx)
		},
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

// Config is the worker's configuration.
func (w *Worker) Config() *Config { return w.cfg }
