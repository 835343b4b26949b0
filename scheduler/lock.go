package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"
)

// Two advisory lock classes namespace opsworker's keys in PostgreSQL's two-key advisory lock space,
// apart from goose's single-key migration lock and from other applications' locks. Each job has
// one key (hashtext of its name) in both.
const (
	// lockClass: the job lock, a session lock held by one run on its lock connection.
	lockClass = 0x6f707377 // "opsw"
	// fenceClass: the job's fence. Every transaction of a run holds it shared (see Begin); a run
	// that has just taken the job lock takes it exclusively once, which waits for the transactions
	// of a previous holder that lost the lock but has not noticed yet.
	fenceClass = lockClass + 1
)

// Heartbeat of the lock connection: a run whose lock connection does not answer a ping within
// heartbeatTimeout is cancelled (errLockLost), so it stops within heartbeatInterval +
// heartbeatTimeout of the loss.
const (
	heartbeatInterval = 500 * time.Millisecond
	heartbeatTimeout  = time.Second
)

// errLockLost ends a run whose lock connection was lost: another run may hold the lock now.
var errLockLost = errors.New("lock lost: the connection holding the job lock stopped answering")

// errHeartbeat is the cause of a heartbeat ping that took too long.
var errHeartbeat error = &timeoutError{"no answer within the heartbeat timeout"}

// jobLock is a session advisory lock named after a job, held on one pooled connection for the
// whole run. Because it is session-level, a process that dies loses it with its connection; the
// server notices a vanished client within the TCP keepalive and user timeouts the pool sets.
//
// Holding the lock is not enough to keep runs apart: a run whose lock connection is terminated
// goes on until it notices, while another process takes the lock. So a run's own transactions
// cannot commit without the lock (see Begin and fence), and a heartbeat cancels the run within
// seconds of the loss.
type jobLock struct {
	conn  *pgxpool.Conn
	fence fence
}

// tryLock takes the job's lock without waiting. It returns nil, nil when another session (another
// replica, or a manual `opsworker run`) holds it.
func tryLock(ctx context.Context, pool *pgxpool.Pool, job string) (*jobLock, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: acquire connection: %w", job, err)
	}
	l := &jobLock{conn: conn, fence: fence{job: job}}
	var got bool
	err = conn.QueryRow(ctx, `
		select pg_try_advisory_lock($1, hashtext($2)), pid, backend_start
		from pg_stat_activity where pid = pg_backend_pid()`, lockClass, job).Scan(&got, &l.fence.pid, &l.fence.backendStart)
	if err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock %s: %w", job, err)
	}
	if !got {
		conn.Release()
		return nil, nil
	}
	return l, nil
}

// drainFence waits until no transaction of an earlier holder of the job lock is in progress: such
// a holder lost the lock (its connection died) but its transactions, begun while it held it, may
// still be committing. After this, no other run's transaction can begin (fence.check fails for
// it), so this run is the only one that commits.
func (l *jobLock) drainFence(ctx context.Context) error {
	_, err := l.conn.Exec(ctx, `select pg_advisory_unlock($1, k) from (select hashtext($2) as k, pg_advisory_lock($1, hashtext($2))) f`,
		fenceClass, l.fence.job)
	if err != nil {
		return fmt.Errorf("lock %s: wait for an earlier run's transactions: %w", l.fence.job, err)
	}
	return nil
}

// watch pings the lock connection every heartbeatInterval of clock until stop is called, and
// cancels the run with errLockLost when a ping fails or takes longer than heartbeatTimeout.
func (l *jobLock) watch(clock clockwork.Clock, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := clock.NewTicker(heartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.Chan():
			}
			ctx, c := context.WithTimeoutCause(context.Background(), heartbeatTimeout, errHeartbeat)
			err := l.conn.Ping(ctx)
			c()
			if err != nil {
				cancel(fmt.Errorf("%w (%v)", errLockLost, err))
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// release unlocks and returns the connection to the pool, within ctx. If the unlock fails the
// connection is closed instead, so the lock cannot outlive the run on a pooled connection.
func (l *jobLock) release(ctx context.Context) {
	var ok bool
	if err := l.conn.QueryRow(ctx, "select pg_advisory_unlock($1, hashtext($2))", lockClass, l.fence.job).Scan(&ok); err != nil || !ok {
		_ = l.conn.Conn().Close(ctx) // within the same bound; an ended ctx closes at once
	}
	l.conn.Release()
}

// fence identifies a run's hold on its job lock: the lock connection's backend, by pid and start
// time (a pid alone may be reused by a later backend).
type fence struct {
	job          string
	pid          int32
	backendStart time.Time
}

// fenceSQL takes the job's fence shared for the rest of the transaction, then checks that the
// run's lock connection still holds the job lock. Once the fence is held, a run that takes the
// lock after this one lost it waits (drainFence) until this transaction ends; and a transaction
// that begins after this run lost the lock fails the check. So at any moment at most one run of a
// job can commit. A transaction left idle by a vanished client is ended by the server after
// idle_in_transaction_session_timeout, so it cannot hold the fence for long.
const fenceSQL = `
select exists (
    select 1 from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory' and l.classid = $1 and l.objid = hashtext($2)::oid and l.objsubid = 2
      and l.mode = 'ExclusiveLock' and l.granted and l.pid = $3 and a.backend_start = $4)
from (select pg_advisory_xact_lock_shared($5, hashtext($2)),
             set_config('idle_in_transaction_session_timeout', '10s', true)) fenced`

// check runs fenceSQL in tx.
func (f fence) check(ctx context.Context, tx pgx.Tx) error {
	var held bool
	if err := tx.QueryRow(ctx, fenceSQL, lockClass, f.job, f.pid, f.backendStart, fenceClass).Scan(&held); err != nil {
		return fmt.Errorf("fence %s: %w", f.job, err)
	}
	if !held {
		return fmt.Errorf("fence %s: %w", f.job, errLockLost)
	}
	return nil
}

type fenceKey struct{}

// Beginner is what Begin starts a transaction on: *pgxpool.Pool and *pgx.Conn satisfy it.
type Beginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Begin starts a transaction that can commit only while the run ctx belongs to holds its job's
// lock: every transaction a job writes in should begin with it. Outside a run (ctx carries no
// run) it is db.Begin.
func Begin(ctx context.Context, db Beginner) (pgx.Tx, error) {
	tx, err := db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	f, ok := ctx.Value(fenceKey{}).(fence)
	if !ok {
		return tx, nil
	}
	if err := f.check(ctx, tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	return tx, nil
}

// BeginFunc runs fn in a transaction begun by Begin, and commits it if fn returns nil.
func BeginFunc(ctx context.Context, db Beginner, fn func(pgx.Tx) error) error {
	tx, err := Begin(ctx, db)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
