package heartbeats

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// maxToken is the longest token a monitor may have (heartbeat_monitors' check): a longer one is
// unknown without asking the database.
const maxToken = 256

// pingSQL records a ping on the monitor whose token has the digest $1, never moving last_ping_at
// back (heartbeat_monitors_token_sha256_idx), and returns its token for the comparison.
const pingSQL = `
update heartbeat_monitors set last_ping_at = greatest(last_ping_at, $2)
where token_sha256 = $1
returning token`

// Ping records a ping of the monitor with token at now. It reports false, and records nothing,
// for a token no monitor has. The lookup is by the token's SHA-256 digest and the stored token
// is compared in constant time, so neither says how close a wrong token came.
func Ping(ctx context.Context, pool *pgxpool.Pool, token string, now time.Time) (bool, error) {
	if token == "" || len(token) > maxToken {
		return false, nil
	}
	digest := sha256.Sum256([]byte(token))
	found := false
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var stored string
		err := tx.QueryRow(ctx, pingSQL, digest[:], now).Scan(&stored)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		if subtle.ConstantTimeCompare([]byte(stored), []byte(token)) != 1 {
			return errMismatch // rolls the ping back
		}
		found = true
		return nil
	})
	if errors.Is(err, errMismatch) {
		return false, nil
	}
	return found, err
}

var errMismatch = errors.New("token digest matched another token")

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// Now is the clock pings are stamped with; default time.Now.
	Now func() time.Time
	// Registerer receives opsworker_heartbeat_pings_total; nil: not exposed.
	Registerer prometheus.Registerer
	// Logger receives the failures (never a token); default slog.Default().
	Logger *slog.Logger
	// Timeout bounds one ping's database work; default 5s.
	Timeout time.Duration
}

// Handler serves GET and POST /heartbeat/<token>: 204 for a ping recorded, 404 for an unknown
// token, 405 for another method, 503 when the database does not answer. No basic auth: the token
// is the credential. It never logs a request's path.
type Handler struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	log     *slog.Logger
	timeout time.Duration
	pings   *prometheus.CounterVec
}

// NewHandler returns the ping handler on pool.
func NewHandler(pool *pgxpool.Pool, o HandlerOptions) *Handler {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	pings := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsworker_heartbeat_pings_total",
		Help: "Heartbeat pings received, by outcome: recorded, unknown (no monitor has the token), error (the database did not answer).",
	}, []string{"outcome"})
	for _, o := range []string{"recorded", "unknown", "error"} {
		pings.WithLabelValues(o)
	}
	if o.Registerer != nil {
		if err := o.Registerer.Register(pings); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				panic(err) // a clash with another metric is a programming error
			}
			pings = are.ExistingCollector.(*prometheus.CounterVec)
		}
	}
	return &Handler{pool: pool, now: o.Now, log: o.Logger, timeout: o.Timeout, pings: pings}
}

// Pings is opsworker_heartbeat_pings_total, by outcome.
func (h *Handler) Pings() *prometheus.CounterVec { return h.pings }

// Prefix is the path the handler serves under.
const Prefix = "/heartbeat/"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed: ping with GET or POST", http.StatusMethodNotAllowed)
		return
	}
	token, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok || strings.Contains(token, "/") {
		h.unknown(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	found, err := Ping(ctx, h.pool, token, h.now())
	switch {
	case err != nil:
		h.pings.WithLabelValues("error").Inc()
		h.log.Error("heartbeat ping not recorded", "error", err)
		http.Error(w, "ping not recorded: the database did not answer", http.StatusServiceUnavailable)
	case !found:
		h.unknown(w)
	default:
		h.pings.WithLabelValues("recorded").Inc()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) unknown(w http.ResponseWriter) {
	h.pings.WithLabelValues("unknown").Inc()
	http.Error(w, "unknown heartbeat token", http.StatusNotFound)
}
