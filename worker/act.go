package worker

import (
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/console"
)

// actHandler serves the action links on pool (/act/: whatever CONSOLE_USERS says and outside
// the console's sign-in, the token being the credential; 404 for every link while they are off).
func actHandler(cfg *Config, pool *pgxpool.Pool, reg prometheus.Registerer, log *slog.Logger) (http.Handler, error) {
	h, err := action.NewHandler(action.HandlerOptions{Pool: pool, Signer: cfg.Links, Stylesheet: console.Stylesheet(),
		Registerer: reg, Logger: log.With("component", "action")})
	if err != nil {
		return nil, err
	}
	if cfg.Links != nil {
		log.Info("action links on", "path", "/act/", "public_url", cfg.Actions.PublicURL, "ttl", cfg.Actions.TTL.String())
	}
	return h, nil
}
