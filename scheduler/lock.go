package scheduler

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass namespaces opsworker's job locks in PostgreSQL's two-key advisory lock space, apart
// from goose's single-key migration lock and from other applications' locks.
const lockClass = 0x6f707377 // "opsw"

// jobLock is a session advisory lock named after a job, held on one pooled connection for the
// whole run. Because it is session-level, a crashed process loses it with its connection.
type jobLock struct {
	conn *pgxpool.Conn
	job  string
}

// tryLock takes the job's lock without waiting. It returns nil, nil when another session (another
// replica, or a manual `opsworker run`) holds it.
func tryLock(ctx context.Context, pool *pgxpool.Pool, job string) (*jobLock, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: acquire connection: %w", job, err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "select pg_try_advisory_lock($1, hashtext($2))", lockClass, job).Scan(&got); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", job, err)
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	return &jobLock{conn: conn, job: job}, nil
}

// release unlocks and returns the connection to the pool. If the unlock fails the connection is
// closed instead, so the lock cannot outlive the run on a pooled connection.
func (l *jobLock) release(ctx context.Context) {
	var ok bool
	if err := l.conn.QueryRow(ctx, "select pg_advisory_unlock($1, hashtext($2))", lockClass, l.job).Scan(&ok); err != nil || !ok {
		_ = l.conn.Conn().Close(ctx)
	}
	l.conn.Release()
}
