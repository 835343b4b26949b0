package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sethvargo/go-retry"
	"golang.org/x/sys/unix"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/schema"
)

// Dead connections are noticed within seconds, on both ends: a run's lock connection that dies
// must free the job lock on the server (so another replica can take it) and fail the run here
// (so it stops), whatever the network does — a reset, a restart, or a blackhole that answers
// nothing at all.
const (
	keepAliveIdle     = 10 * time.Second
	keepAliveInterval = 5 * time.Second
	keepAliveCount    = 3
	userTimeout       = 20 * time.Second // unacknowledged data older than this kills the connection
	connectTimeout    = 10 * time.Second
)

// configurePool sets what every opsworker connection needs besides DATABASE_URL: the
// application_name the run history recognises this process by, and the TCP settings that detect
// a dead peer (client side through the dialer, server side through session settings).
func configurePool(pool *pgxpool.Config, instance string) {
	cc := pool.ConnConfig
	cc.RuntimeParams["application_name"] = scheduler.ApplicationName(instance)
	for k, v := range map[string]string{
		"tcp_keepalives_idle":     fmt.Sprint(keepAliveIdle.Seconds()),
		"tcp_keepalives_interval": fmt.Sprint(keepAliveInterval.Seconds()),
		"tcp_keepalives_count":    fmt.Sprint(keepAliveCount),
		"tcp_user_timeout":        fmt.Sprint(userTimeout.Milliseconds()),
	} {
		if _, set := cc.RuntimeParams[k]; !set {
			cc.RuntimeParams[k] = v
		}
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = connectTimeout
	}
	d := &net.Dialer{
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepAliveIdle, Interval: keepAliveInterval, Count: keepAliveCount},
		Control:         setUserTimeout,
	}
	cc.DialFunc = d.DialContext
}

// setUserTimeout sets TCP_USER_TIMEOUT on a TCP socket: keepalives alone do not notice a peer
// that vanished while data is in flight.
func setUserTimeout(network, _ string, c syscall.RawConn) error {
	if network != "tcp" && network != "tcp4" && network != "tcp6" {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout.Milliseconds()))
	})
	return errors.Join(err, serr)
}

// Connect opens the pool, waits up to DATABASE_WAIT (with backoff) for the database to answer
// and, with migrate, migrates it. Each wait is logged with the target, never the password. Close
// the pool with CloseWithin.
func Connect(ctx context.Context, cfg *Config, log *slog.Logger, migrate bool) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg.Pool)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", cfg.Database(), err)
	}
	if err := waitForDatabase(ctx, pool, cfg, log); err != nil {
		CloseWithin(pool, time.Second)
		return nil, err
	}
	if migrate {
		applied, err := schema.Migrate(ctx, pool)
		if err != nil {
			CloseWithin(pool, time.Second)
			return nil, err
		}
		for _, m := range applied {
			log.Info("migration applied", "version", m.Version, "source", m.Source)
		}
	}
	return pool, nil
}

// waitForDatabase pings until the database answers, DATABASE_WAIT passes or ctx ends.
func waitForDatabase(ctx context.Context, pool *pgxpool.Pool, cfg *Config, log *slog.Logger) error {
	start := time.Now()
	attempt := 0
	b := retry.WithMaxDuration(cfg.DatabaseWait, retry.WithCappedDuration(5*time.Second,
		retry.WithJitterPercent(10, retry.NewExponential(250*time.Millisecond))))
	var last error
	err := retry.Do(ctx, b, func(ctx context.Context) error {
		attempt++
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if last = pool.Ping(pctx); last == nil {
			if attempt > 1 {
				log.Info("database answers", "database", cfg.Database(), "waited_seconds", time.Since(start).Round(time.Millisecond).Seconds())
			}
			return nil
		}
		log.Warn("waiting for the database", "database", cfg.Database(), "attempt", attempt,
			"waited_seconds", time.Since(start).Round(time.Millisecond).Seconds(), "database_wait", cfg.DatabaseWait.String(), "error", last)
		return retry.RetryableError(last)
	})
	if err == nil {
		return nil
	}
	if last == nil {
		last = err
	}
	return fmt.Errorf("database %s does not answer (waited %s; DATABASE_WAIT=%s): %w",
		cfg.Database(), time.Since(start).Round(time.Second), cfg.DatabaseWait, last)
}

// CloseWithin closes the pool, waiting at most d: closing waits for connections in use, and a
// connection to a blackholed server may not answer for minutes.
func CloseWithin(pool *pgxpool.Pool, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		pool.Close()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}
