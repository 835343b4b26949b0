package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sethvargo/go-retry"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/schema"
)

// The schema guard. A process runs tasks and deliveries only against the schema its build was
// made for, or a newer one every newer migration of which is additive (schema.State.Runnable).
// On a database that is behind, it waits for the migration (MIGRATE=false: another process or a
// deploy step migrates) within DATABASE_WAIT. On one that is ahead and incompatible, it stands
// down: no runs, no deliveries, /readyz 503, one log line naming both versions; it checks at
// start, before every run, and with every fleet heartbeat — so a rolling upgrade that migrates
// under a running older process stops it within a heartbeat, and no run of old code starts
// against the new schema.

// awaitSchema reads the database's schema state and, while the database is behind this build,
// waits for its migration within DATABASE_WAIT.
func (w *Worker) awaitSchema(ctx context.Context, pool *pgxpool.Pool) (schema.State, error) {
	var state schema.State
	read := func(ctx context.Context) error {
		var err error
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		state, err = schema.ReadState(rctx, pool)
		return err
	}
	if err := read(ctx); err != nil {
		return state, err
	}
	if !state.Behind() {
		return state, nil
	}
	w.log.Warn("waiting for the database's migration (MIGRATE=false here)", "schema", state.String(),
		"database_version", state.Database, "build_version", state.Build, "database_wait", w.cfg.DatabaseWait.String())
	b := retry.WithMaxDuration(w.cfg.DatabaseWait, retry.NewConstant(500*time.Millisecond))
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		if err := read(ctx); err != nil {
			return retry.RetryableError(err)
		}
		if state.Behind() {
			return retry.RetryableError(errors.New(state.String()))
		}
		return nil
	})
	if err != nil {
		return state, fmt.Errorf("%s (waited DATABASE_WAIT=%s for the migration)", state, w.cfg.DatabaseWait)
	}
	w.log.Info("database migrated", "schema", state.String())
	return state, nil
}

// standDown stops this process's work for good: the scheduler and the delivery queue drain
// within SHUTDOWN_TIMEOUT, and the HTTP endpoints say why.
func (w *Worker) standDown(state schema.State) {
	why := state.String()
	if !w.stood.CompareAndSwap(nil, &why) {
		return
	}
	w.log.Error("stood down: no runs, no deliveries from this process", "schema", why,
		"database_version", state.Database, "build_version", state.Build, "database_floor", state.Floor)
	w.stopListening()
	if w.pings != nil {
		w.pings.set(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.ShutdownTimeout)
	defer cancel()
	if w.deliveries != nil {
		w.deliveries.Stop(ctx)
	}
	if sc := w.sched.Load(); sc != nil {
		sc.Shutdown(ctx)
	}
}

// heartbeat refreshes the fleet registration and checks the schema every beatEvery, until
// Shutdown.
func (w *Worker) heartbeat() {
	ctx, stop := context.WithCancel(context.Background())
	w.beatStop = stop
	w.beating.Add(1)
	go func() {
		defer w.beating.Done()
		t := time.NewTicker(w.beatEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			bctx, cancel := context.WithTimeout(ctx, w.beatEvery)
			if err := w.fleet.beat(bctx, time.Now()); err != nil {
				w.log.Debug("fleet heartbeat failed", "error", err)
			}
			state, err := schema.ReadState(bctx, w.fleet.pool)
			cancel()
			if err == nil && !state.Runnable() && !state.Behind() {
				go w.standDown(state)
			}
		}
	}()
}

// guard wraps a task's job so that each run first checks the schema: a run of this build never
// starts against a schema it cannot serve, even between heartbeats.
func (w *Worker) guard(job scheduler.Job) scheduler.Job {
	g := guarded{Job: job, check: func(ctx context.Context) error {
		pool := w.pool.Load()
		state, err := schema.ReadState(ctx, pool)
		if err != nil {
			return err
		}
		if !state.Runnable() {
			if !state.Behind() {
				go w.standDown(state)
			}
			return fmt.Errorf("not run: %s", state)
		}
		return nil
	}}
	if i, ok := job.(scheduler.Idler); ok {
		return guardedIdler{g, i}
	}
	return g
}

type guarded struct {
	scheduler.Job
	check func(context.Context) error
}

func (g guarded) Run(ctx context.Context, now time.Time) (scheduler.Summary, error) {
	if err := g.check(ctx); err != nil {
		return nil, err
	}
	return g.Job.Run(ctx, now)
}

type guardedIdler struct {
	guarded
	scheduler.Idler
}
