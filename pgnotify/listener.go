// Package pgnotify listens on a PostgreSQL notification channel on a connection of its own, and
// keeps listening: a connection lost (a restart, pg_terminate_backend, a network cut that TCP
// keepalives notice) is re-established with backoff. PostgreSQL does not keep notifications for a
// listener that is away, so every (re)connection is reported too: the caller catches up.
package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sethvargo/go-retry"
)

// Listener listens on one channel.
type Listener struct {
	// Config is the connection's configuration (the pool's, so it carries the same keepalives and
	// application_name).
	Config *pgx.ConnConfig
	// Channel is the channel to LISTEN on.
	Channel string
	// Notified is called for each notification, with its payload.
	Notified func(payload string)
	// Connected is called after each (re)connection, once listening: notifications sent while
	// there was no connection are lost, so the caller catches up.
	Connected func(reconnect bool)
	Logger    *slog.Logger
}

// Run listens until ctx ends. It returns only then.
func (l *Listener) Run(ctx context.Context) {
	reconnect := false
	for ctx.Err() == nil {
		conn := l.connect(ctx)
		if conn == nil {
			return // ctx ended while connecting
		}
		l.Connected(reconnect)
		err := l.listen(ctx, conn)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = conn.Close(cctx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		l.Logger.Warn("notification listener lost its connection; reconnecting", "channel", l.Channel, "error", err)
		reconnect = true
	}
}

// connect connects and LISTENs, retrying with backoff (capped at 10 s) until it works or ctx
// ends.
func (l *Listener) connect(ctx context.Context) *pgx.Conn {
	b := retry.WithCappedDuration(10*time.Second, retry.WithJitterPercent(20, retry.NewExponential(200*time.Millisecond)))
	var conn *pgx.Conn
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		c, err := pgx.ConnectConfig(cctx, l.Config)
		if err == nil {
			if _, err = c.Exec(cctx, "listen "+pgx.Identifier{l.Channel}.Sanitize()); err == nil {
				conn = c
				return nil
			}
			_ = c.Close(context.Background())
		}
		l.Logger.Debug("notification listener cannot connect yet", "channel", l.Channel, "error", err)
		return retry.RetryableError(err)
	})
	if err != nil {
		return nil
	}
	return conn
}

// listen waits for notifications until the connection fails or ctx ends.
func (l *Listener) listen(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("wait for notification: %w", err)
		}
		l.Notified(n.Payload)
	}
}
