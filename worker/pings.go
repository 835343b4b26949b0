package worker

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/tasks/heartbeats"
)

// pingSlot is the heartbeat endpoint's place in the HTTP mux: the mux answers before the
// database does, pings only after (503 until then, and on a process that stood down, which must
// not write to a schema it does not know).
type pingSlot struct {
	h atomic.Pointer[heartbeats.Handler]
}

func (p *pingSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := p.h.Load()
	if h == nil {
		http.Error(w, "not recording pings yet: waiting for the database", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// start records pings on pool from now on (until the process stands down: standDown clears h).
func (p *pingSlot) start(pool *pgxpool.Pool, reg prometheus.Registerer, log *slog.Logger) {
	p.h.Store(heartbeats.NewHandler(pool, heartbeats.HandlerOptions{Registerer: reg, Logger: log.With("component", "heartbeat")}))
}
