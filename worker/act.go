package worker

import (
	"log/slog"
	"net/http"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/console"
)

// actSlot is the action links' place in the HTTP mux (/act/): served whatever CONSOLE_USERS
// says and outside the console's sign-in (the token is the credential). Until the database is
// there and this build may work on it, it answers 503.
type actSlot struct {
	h atomic.Pointer[action.Handler]
}

func (a *actSlot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := a.h.Load()
	if h == nil {
		http.Error(w, "starting: waiting for the database", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// start serves the action links on pool (404 for every link while they are off).
func (a *actSlot) start(cfg *Config, pool *pgxpool.Pool, reg prometheus.Registerer, log *slog.Logger) error {
	h, err := action.NewHandler(action.HandlerOptions{Pool: pool, Signer: cfg.Links, Stylesheet: console.Stylesheet(),
		Registerer: reg, Logger: log.With("component", "action")})
	if err != nil {
		return err
	}
	a.h.Store(h)
	if cfg.Links != nil {
		log.Info("action links on", "path", "/act/", "public_url", cfg.Actions.PublicURL, "ttl", cfg.Actions.TTL.String())
	}
	return nil
}
