package scheduler

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/sethvargo/go-retry"
)

// What the scheduler does in time is on its clock (Options.Clock): firings, the coalescing window
// of wake-ups, the lock heartbeat's beat, a run's deadline (JOB_TIMEOUT), the waits between
// retries, the history flush, the drain (SHUTDOWN_TIMEOUT), the listener's reconnection backoff.
// Tests give it a clockwork.FakeClock and move time themselves, so nothing waits on the wall
// clock.
//
// Bounds on one exchange with the database — taking the lock (StartTimeout), a heartbeat's ping,
// a history write, a connection attempt — and the drain's last grace for runs that ignore their
// cancellation stay on the real clock: the network runs on real time, and a test that moves its
// clock past them would cut short exchanges that nothing was wrong with.

// timeoutError is the cause of a context that timed out: it says which bound passed, and is a
// context.DeadlineExceeded, whichever clock measured it.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string        { return e.msg }
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// withTimeout is context.WithTimeoutCause measured on clock. On the real clock it is exactly
// that. The standard library's deadlines run on the real clock only, so on a fake one the context
// is cancelled by the clock's own timer, with cause, and reports the clock's deadline.
func withTimeout(parent context.Context, clock clockwork.Clock, d time.Duration, cause error) (context.Context, context.CancelFunc) {
	if _, fake := clock.(*clockwork.FakeClock); !fake {
		return context.WithTimeoutCause(parent, d, cause)
	}
	ctx, cancel := context.WithCancelCause(parent)
	t := clock.AfterFunc(d, func() { cancel(cause) })
	return deadlineContext{ctx, clock.Now().Add(d)}, func() {
		t.Stop()
		cancel(context.Canceled)
	}
}

// deadlineContext reports a deadline read on a fake clock.
type deadlineContext struct {
	context.Context
	deadline time.Time
}

func (c deadlineContext) Deadline() (time.Time, bool) { return c.deadline, true }

// sleep waits d on clock, or until ctx ends (its error then).
func sleep(ctx context.Context, clock clockwork.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// retryUntil calls f until it succeeds, waiting between calls as b says, on clock. It gives up,
// returning f's last error, when the next wait would end after until (the zero time: never) or
// when ctx ends. go-retry's own Do waits on the real clock; its backoffs only say how long.
func retryUntil(ctx context.Context, clock clockwork.Clock, b retry.Backoff, until time.Time, f func(context.Context) error) error {
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		d, stop := b.Next()
		if stop || !until.IsZero() && clock.Now().Add(d).After(until) {
			return err
		}
		if serr := sleep(ctx, clock, d); serr != nil {
			return err
		}
	}
}
