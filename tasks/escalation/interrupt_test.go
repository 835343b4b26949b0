package escalation_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/tasks/escalation"
)

// Points of a batch where a test interrupts a run.
const (
	claimed   = "claimed"   // alerts claimed and locked, nothing written
	written   = "written"   // the outcomes written, not committed
	committed = "committed" // committed, not yet counted
)

// interrupter watches a task's statements through pgx's query tracer, on a pool of the task's
// own, and calls its function at each point of each batch of a run, in the run's goroutine: the
// task's code has no hook for tests. A run starts with the ack timeout pass; batch n starts with
// the run's n-th claim and ends with its commit. (The batches of these tests queue no deliveries:
// their write is their last statement before the commit.)
type interrupter struct {
	mu    sync.Mutex
	at    func(ctx context.Context, point string, batch int)
	batch int
}

type sqlKey struct{}

// interruptible returns a task on f's database, with opts, and the interrupter that watches it.
// Its batches run one at a time (Workers 1, unless opts says otherwise), so that they are
// numbered in the order they run.
func interruptible(t *testing.T, f *fixture, opts escalation.Options) (*escalation.Task, *interrupter) {
	t.Helper()
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	i := &interrupter{}
	cfg := f.pool.Config()
	cfg.ConnConfig.Tracer = i
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return escalation.New(pool, opts), i
}

// set makes the interrupter call at from now on (nil: nothing).
func (i *interrupter) set(at func(ctx context.Context, point string, batch int)) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.at = at
}

func (i *interrupter) call(ctx context.Context, point string) {
	i.mu.Lock()
	at, batch := i.at, i.batch
	i.mu.Unlock()
	if at != nil && batch > 0 {
		at(ctx, point, batch)
	}
}

// TraceQueryStart counts runs and batches.
func (i *interrupter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	switch data.SQL {
	case escalation.AckTimeoutSQL:
		i.mu.Lock()
		i.batch = 0
		i.mu.Unlock()
	case escalation.ClaimSQL:
		i.mu.Lock()
		i.batch++
		i.mu.Unlock()
	}
	return context.WithValue(ctx, sqlKey{}, data.SQL)
}

// TraceQueryEnd calls "claimed" once a claim's rows are read, "written" once the batch's write
// returned, and "committed" once its commit succeeded.
func (i *interrupter) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	if data.Err != nil {
		return
	}
	switch ctx.Value(sqlKey{}) {
	case escalation.ClaimSQL:
		i.call(ctx, claimed)
	case escalation.WriteSQL:
		i.call(ctx, written)
	case "commit":
		i.call(ctx, committed)
	}
}
