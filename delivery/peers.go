package delivery

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/vocab"
)

// Refusals while the fleet disagrees.
//
// Whether a destination may be reached is decided by this process's DELIVERY_ALLOW_NETWORKS.
// During a rolling change of it, or with one replica configured apart, the processes on one
// database disagree, and a refusal here says nothing of what a peer would do: failing the page
// for good would make its fate depend on which process happened to fetch its job (two replicas,
// one allowing 127.0.0.1: a third of the pages failed, the rest sent).
//
// So a destination_not_allowed refusal is a final verdict only while the fleet agrees. The
// worker asks PeersDisagree (filled by the process from the fleet's registration: true while any
// live process's delivery settings differ from this one's, or while that cannot be known); while
// it says so, the job is snoozed for about a second — nothing was sent, River counts no attempt —
// and whichever process fetches it next tries it, so one that allows the destination sends it.
// The delivery stays pending meanwhile, its last_error saying why. This lasts at most the
// delivery's retry horizon (the time DELIVERY_MAX_ATTEMPTS attempts would take on the retry
// schedule, about 28 minutes for 10): a page no live process will send by then fails for good,
// as it would have had the fleet agreed. Deciding once at enqueue time by an agreed setting was
// the alternative; it would need the setting in the database and a fleet-wide vote, for a
// question only a refusing process asks.

// peerWait is how long a refused job waits for a peer that may allow it (±50 % jitter, so the
// replicas' fetches, not one process's cadence, decide who takes it next).
const peerWait = time.Second

// peerCheckTimeout bounds the question to the fleet; no answer in time counts as disagreement.
const peerCheckTimeout = 2 * time.Second

// retryHorizon is how long a delivery's attempts take on the retry schedule: the sum of the
// waits between maxAttempts attempts.
func retryHorizon(maxAttempts int) time.Duration {
	var d time.Duration
	for n := 1; n < maxAttempts; n++ {
		d += retryDelay(n, func() float64 { return 0.5 })
	}
	return d
}

// leaveToPeer decides whether refusal res (destination_not_allowed) is left for a peer: the
// fleet disagrees and the delivery is within its retry horizon. It then records the delivery as
// still pending, with why, and returns what Work returns to River (a snooze); left is false when
// the refusal is final.
func (w *Worker) leaveToPeer(ctx context.Context, log *slog.Logger, p *Attempt, riverAttempt int, res Result) (left bool, ret error) {
	if w.peersDisagree == nil || res.Reason != vocab.ReasonDestinationNotAllowed || w.now().Sub(p.QueuedAt) >= w.horizon {
		return false, nil
	}
	qctx, cancel := context.WithTimeout(ctx, peerCheckTimeout)
	disagree := w.peersDisagree(qctx) || qctx.Err() != nil
	cancel()
	if !disagree {
		return false, nil
	}
	o := outcome{status: vocab.DeliveryPending,
		errText: res.Err.Error() + " (refused here; the fleet's delivery settings differ, so a process that allows it may send it)"}
	o.attempts, o.added = attemptsMade(p.Attempts, riverAttempt, 0)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	_, _, err := record(rctx, w.pool, p.DeliveryID, o)
	cancel()
	if err != nil {
		return true, err
	}
	w.metrics.deferred("peer_may_allow")
	log.Info("delivery refused here; left for a peer whose settings may allow it", "error", res.Err)
	return true, river.JobSnooze(time.Duration(float64(peerWait) * (0.5 + w.rand())))
}
