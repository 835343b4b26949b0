package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// RiverPrefix is where River UI is served; the console's guard (authentication, read-only,
// headers) is in front of it.
const RiverPrefix = "/ui/river"

// NewRiverUI returns River UI for client's database, started: its background services run until
// ctx ends. client need not be started (an insert-only client will do).
func NewRiverUI(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger.With("component", "riverui"),
		Prefix:    RiverPrefix,
		// Job arguments are a delivery id, nothing secret; River UI may show them.
	})
	if err != nil {
		return nil, fmt.Errorf("river UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("river UI: start: %w", err)
	}
	return h, nil
}
