package worker

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/console"
)

// consoleSlot is the web console's place in the HTTP mux. The mux answers before the database
// does, the console only after: until start, /ui/ and /api/ answer 503, or 404 when the console
// is off (CONSOLE_USERS empty), as they do afterwards.
type consoleSlot struct {
	on bool
	h  atomic.Pointer[console.Server]
}

func newConsoleSlot(cfg *Config) *consoleSlot { return &consoleSlot{on: cfg.Users.Enabled()} }

func (c *consoleSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !c.on {
		http.NotFound(w, r)
		return
	}
	h := c.h.Load()
	if h == nil {
		http.Error(w, "starting: waiting for the database", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// start builds the console on pool, with River UI on the delivery queue's client, until ctx
// ends.
func (c *consoleSlot) start(ctx context.Context, cfg *Config, pool *pgxpool.Pool, queue *river.Client[pgx.Tx], log *slog.Logger) error {
	if !c.on {
		return nil
	}
	riverUI, err := console.NewRiverUI(ctx, queue, log)
	if err != nil {
		return err
	}
	jobs := make([]console.Job, len(Tasks))
	for i, td := range Tasks {
		jobs[i] = console.Job{Name: td.Name, Variable: td.Variable, Spec: cfg.Specs[td.Name]}
	}
	srv, err := console.New(console.Options{Pool: pool, Users: cfg.Users, Jobs: jobs, River: riverUI, Logger: log.With("component", "console")})
	if err != nil {
		return err
	}
	c.h.Store(srv)
	log.Info("console on", "path", "/ui/", "api", "/api/v1/", "users", cfg.Users.Names())
	return nil
}
