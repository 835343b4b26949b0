package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-retry"
)

// ListenOptions configure Listen.
type ListenOptions struct {
	// ConnConfig is the listener's connection: its own, outside the pool (a LISTEN holds its
	// session). Pass a copy of the pool's, so it carries the same keepalives and
	// application_name.
	ConnConfig *pgx.ConnConfig
	// Jobs maps each channel to the job a notification on it wakes up (RunSoon). Every job must
	// have been added to the scheduler.
	Jobs map[string]string
	// Registerer receives opsworker_listener_reconnects_total{channel}; nil: kept but not exposed.
	Registerer prometheus.Registerer
	// Logger receives the listener's lines; default the scheduler's.
	Logger *slog.Logger
}

// Backoff of the listener's reconnection: the first attempt after a lost connection is at once,
// then 200 ms, doubling up to 10 s, ±20 %.
const (
	listenBackoffBase = 200 * time.Millisecond
	listenBackoffCap  = 10 * time.Second
	listenConnect     = 10 * time.Second // bound of one connection attempt (on the real clock)
)

// Listen wakes jobs up on PostgreSQL notifications until ctx ends: it LISTENs on every channel
// of o.Jobs on one connection of its own (github.com/jackc/pgxlisten) and calls RunSoon(job) for
// each notification. PostgreSQL keeps no notification for a listener that is away, so after each
// connection, once listening, it asks for one run of every job (the catch-up): whatever became
// due meanwhile is not left for the next cron firing. A lost connection (a restart, a terminated
// backend, a network cut that TCP keepalives notice) is made again with backoff, on the
// scheduler's clock, and counted in opsworker_listener_reconnects_total{channel}.
//
// It returns nil when ctx ends, and an error at once for options it cannot work with (no
// connection configuration, no channel, a job the scheduler does not have).
func (s *Scheduler) Listen(ctx context.Context, o ListenOptions) error {
	if o.ConnConfig == nil {
		return errors.New("scheduler: Listen: no connection configuration")
	}
	if len(o.Jobs) == 0 {
		return errors.New("scheduler: Listen: no channel to listen on")
	}
	for _, channel := range slices.Sorted(maps.Keys(o.Jobs)) {
		if s.lookup(o.Jobs[channel]) == nil {
			return fmt.Errorf("scheduler: Listen: channel %s wakes up job %q, which is not scheduled", channel, o.Jobs[channel])
		}
	}
	if o.Logger == nil {
		o.Logger = s.log
	}
	reconnects := listenerReconnects(o.Registerer)
	w := &wakeUps{s: s, log: o.Logger, reconnects: reconnects, backoff: newListenBackoff(), channels: len(o.Jobs)}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) { return w.connect(ctx, o.ConnConfig) },
		LogError: func(ctx context.Context, err error) {
			if ctx.Err() == nil {
				o.Logger.Warn("notification listener lost its connection; reconnecting", "error", err)
			}
		},
		// Connect waits (with backoff, on the scheduler's clock) before every attempt that
		// follows a failure; pgxlisten's own delay would wait on the real clock.
		ReconnectDelay: -1,
	}
	for channel, job := range o.Jobs {
		reconnects.WithLabelValues(channel) // every series exists from the start
		l.Handle(channel, wakeUp{w: w, channel: channel, job: job})
	}
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("scheduler: Listen: %w", err)
}

// listenerReconnects returns the reconnection counter, registered on reg (a scheduler that
// listens twice on one registry shares it).
func listenerReconnects(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "opsworker_listener_reconnects_total",
		Help: "Times the notification listener had to reconnect (a restart, a terminated backend, a network cut), by channel.",
	}, []string{"channel"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
		panic(err) // a clash with a metric of another type is a programming error
	}
	return c
}

func newListenBackoff() retry.Backoff {
	return retry.WithCappedDuration(listenBackoffCap, retry.WithJitterPercent(20, retry.NewExponential(listenBackoffBase)))
}

// wakeUps is the state of one Listen: pgxlisten calls it from one goroutine.
type wakeUps struct {
	s          *Scheduler
	log        *slog.Logger
	reconnects *prometheus.CounterVec
	backoff    retry.Backoff
	channels   int
	// failed: the last connection attempt failed, or its connection did not get to listen on
	// every channel, so the next attempt waits for the backoff.
	failed   bool
	connects int // connections made
	listened int // channels the current connection listens on
}

// connect makes the listener's connection, until it works or ctx ends. An attempt that follows a
// failure — a refused attempt, or a connection that never got to listen — waits for the backoff
// first, on the scheduler's clock; the first attempt after a connection that listened is at once.
func (w *wakeUps) connect(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	var err error
	for {
		if w.failed {
			d, _ := w.backoff.Next()
			t := w.s.clock.NewTimer(d)
			// Logged once the timer is set: a test that moves its clock on this line ends the wait.
			w.log.Debug("notification listener cannot connect yet", "error", err, "retry_in", d)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.Chan():
			}
		}
		w.failed = true // until the connection listens
		cctx, cancel := context.WithTimeout(ctx, listenConnect)
		var conn *pgx.Conn
		conn, err = pgx.ConnectConfig(cctx, cfg)
		cancel()
		if err == nil {
			w.connects++
			w.listened = 0
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// wakeUp serves one channel: each notification asks for a run of its job, and so does each new
// connection once it listens (pgxlisten calls HandleBacklog right after LISTEN).
type wakeUp struct {
	w       *wakeUps
	channel string
	job     string
}

func (h wakeUp) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h.w.s.RunSoon(h.job)
	return nil
}

func (h wakeUp) HandleBacklog(context.Context, string, *pgx.Conn) error {
	w := h.w
	if w.listened++; w.listened == w.channels { // the connection works
		w.failed = false
		w.backoff = newListenBackoff()
	}
	if w.connects > 1 {
		w.reconnects.WithLabelValues(h.channel).Inc()
		w.log.Info("notification listener reconnected: one catch-up run", "job", h.job, "channel", h.channel)
	} else {
		w.log.Debug("notification listener up", "job", h.job, "channel", h.channel)
	}
	w.s.RunSoon(h.job)
	return nil
}
