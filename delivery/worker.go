package delivery

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"github.com/opsworker/opsworker/action"
	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/vocab"
)

// Worker works delivery jobs: one attempt of one delivery per Work.
type Worker struct {
	river.WorkerDefaults[Args]

	pool        *pgxpool.Pool
	senders     map[string]Sender // by contact method kind
	maxAttempts int
	timeout     time.Duration
	metrics     *Metrics
	log         *slog.Logger
	now         func() time.Time
	rand        func() float64

	peersDisagree func(context.Context) bool // see peers.go
	horizon       time.Duration              // retryHorizon(maxAttempts)
	lanes         *lanes                     // see lanes.go
	links         *action.Signer             // nil: pages carry no action links
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	Senders     map[string]Sender // webhook, slack, email
	MaxAttempts int               // DELIVERY_MAX_ATTEMPTS
	Timeout     time.Duration     // DELIVERY_TIMEOUT: the deadline of one attempt
	Metrics     *Metrics
	Logger      *slog.Logger
	Now         func() time.Time // the clock of retries and signatures; default time.Now
	// PeersDisagree: whether the fleet's delivery settings differ (Options.PeersDisagree); nil:
	// they agree, and a refusal is final at once.
	PeersDisagree func(ctx context.Context) bool
	// PerHost, SlowAfter and SlowLane isolate destinations (see lanes.go and Options); zero:
	// 4, 1s, and 10 (half the default workers).
	PerHost   int
	SlowAfter time.Duration
	SlowLane  int
	// Links signs each page's acknowledge and resolve links (Options.Links); nil: none.
	Links *action.Signer
}

// NewWorker returns the worker of delivery jobs on pool.
func NewWorker(pool *pgxpool.Pool, o WorkerOptions) *Worker {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.PerHost == 0 {
		o.PerHost = defaultPerHost
	}
	if o.SlowAfter == 0 {
		o.SlowAfter = defaultSlowAfter
		if o.Timeout > 0 {
			o.SlowAfter = min(o.SlowAfter, o.Timeout)
		}
	}
	if o.SlowLane == 0 {
		o.SlowLane = defaultWorkers / 2
	}
	return &Worker{pool: pool, senders: o.Senders, maxAttempts: o.MaxAttempts, timeout: o.Timeout,
		metrics: o.Metrics, log: slog.New(redact.Handler(o.Logger.Handler())), now: o.Now, rand: defaultRand,
		peersDisagree: o.PeersDisagree, horizon: retryHorizon(o.MaxAttempts),
		lanes: newLanes(o.PerHost, o.SlowAfter, o.SlowLane, o.Metrics), links: o.Links}
}

// Timeout bounds one attempt: DELIVERY_TIMEOUT for the send, and a few seconds for reading the
// delivery and recording the outcome.
func (w *Worker) Timeout(*river.Job[Args]) time.Duration { return w.timeout + 5*time.Second }

// NextRetry is DESIGN's retry schedule after a failed attempt: 5 s, 15 s, 45 s, 135 s, then every
// 5 minutes, with ±10 % jitter. It never returns a time in the past (River would fall back to its
// own policy).
func (w *Worker) NextRetry(job *river.Job[Args]) time.Time {
	return w.now().Add(retryDelay(job.Attempt, w.rand))
}

// errRetry is the error an attempt that will be retried returns to River.
type errRetry struct{ err error }

func (e errRetry) Error() string { return e.err.Error() }
func (e errRetry) Unwrap() error { return e.err }

// Work makes one attempt of the job's delivery and records its outcome. A page is cancelled
// (nothing sent) when its alert was acknowledged or resolved since the page; any message is when
// its contact method or subscription is gone or disabled. A final outcome ends the job; a
// retryable failure returns an error (River retries at NextRetry) or snoozes for the receiver's
// Retry-After.
func (w *Worker) Work(ctx context.Context, job *river.Job[Args]) error {
	log := w.log.With("delivery_id", job.Args.DeliveryID)
	p, err := loadAttempt(ctx, w.pool, job.Args.DeliveryID)
	if errors.Is(err, errNoDelivery) {
		return river.JobCancel(err) // deleted with its alert: nothing to send
	}
	if err != nil {
		return err // the database: River retries
	}
	log = log.With(p.logAttrs()...)
	if p.Status != vocab.DeliveryPending {
		return nil // already recorded (a rescued duplicate of a finished attempt)
	}
	if reason := cancelReason(p); reason != "" {
		o := outcome{status: vocab.DeliveryCancelled, errText: string(reason), reason: reason}
		o.attempts, o.added = attemptsMade(p.Attempts, job.Attempt, 0)
		if _, _, err := record(ctx, w.pool, p.DeliveryID, o); err != nil {
			return err
		}
		w.metrics.outcome(p.Kind, "cancelled")
		log.Info("delivery cancelled", "reason", reason)
		return nil
	}
	if p.bad != nil {
		return w.finish(ctx, log, p, job.Attempt, permanent(vocab.ReasonBadPage, p.bad))
	}
	sender := w.senders[p.Kind]
	if sender == nil {
		return w.finish(ctx, log, p, job.Attempt, permanent(vocab.ReasonUnknownChannel, errors.New("no sender for "+p.Kind)))
	}
	if p.Page != nil {
		p.Page.Links = w.links.Links(p.Page.Alert.ID, p.Page.Responder.ID, p.Page.PagedAt)
	}
	res, deferred := w.send(ctx, log, sender, p)
	if deferred != nil {
		return deferred
	}
	if left, ret := w.leaveToPeer(ctx, log, p, job.Attempt, res); left {
		return ret
	}
	return w.finish(ctx, log, p, job.Attempt, res)
}

// send makes the attempt within its destination's lane (see lanes.go), bounded by
// DELIVERY_TIMEOUT, and returns its result with the error redacted. A job whose destination is
// at its limit is not attempted: send returns the snooze River gets instead.
func (w *Worker) send(ctx context.Context, log *slog.Logger, sender Sender, p *Attempt) (Result, error) {
	ctx, cut := context.WithCancelCause(ctx)
	defer cut(nil)
	var t *ticket
	if key := sender.Destination(p); key != "" {
		var why string
		var wait time.Duration
		if t, why, wait = w.lanes.acquire(key, cut); t == nil {
			w.metrics.deferred(why)
			log.Debug("delivery deferred: its destination is at its limit", "why", why)
			return Result{}, river.JobSnooze(time.Duration(float64(wait) * (0.5 + w.rand())))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, w.timeout)
	start := time.Now() // the wall clock times the attempt for a metric; the logic uses w.now
	res := sender.Send(sctx, p, w.now())
	out := timedOut(sctx, res.Err)
	cancel()
	w.metrics.attempt(p.Kind, time.Since(start))
	if t != nil {
		if took, wasCut := t.release(res.Code != 0 || res.Err == nil, out); wasCut && res.Err != nil {
			w.metrics.cuts.Inc()
			res = w.lanes.cutResult(took)
		}
	}
	res.Err = redact.Error(res.Err)
	return res, nil
}

// cancelReason says why a delivery must not be sent, or "". Only a page is cancelled because
// its alert was acknowledged or resolved: a follow-up tells exactly that, and a notice is not
// about an alert.
func cancelReason(p *Attempt) vocab.Reason {
	switch {
	case p.Page != nil && p.Page.Alert.Status == vocab.AlertAcknowledged:
		return vocab.ReasonAlertAcknowledged
	case p.Page != nil && p.Page.Alert.Status == vocab.AlertResolved:
		return vocab.ReasonAlertResolved
	case p.Address == "":
		return vocab.ReasonContactMethodRemoved
	}
	return ""
}

// logAttrs name the delivery's tenant, channel, message and (for a page or a follow-up) alert
// in its log lines.
func (a *Attempt) logAttrs() []any {
	attrs := []any{"tenant_id", a.TenantID, "channel", a.Kind, "message", string(a.Message)}
	switch {
	case a.Page != nil:
		attrs = append(attrs, "alert_id", a.Page.Alert.ID)
	case a.Followup != nil:
		attrs = append(attrs, "alert_id", a.Followup.Alert.ID)
	case a.Notice != nil:
		attrs = append(attrs, "schedule_id", a.Notice.Schedule.ID)
	}
	return attrs
}

// finish records the attempt's result and tells River what comes next. The error is redacted
// first (an address's credentials masked, see package redact): it becomes last_error, the
// delivery_failed event's details, River's record of the attempt and log lines.
func (w *Worker) finish(ctx context.Context, log *slog.Logger, p *Attempt, riverAttempt int, res Result) error {
	res.Err = redact.Error(res.Err)
	made := 1
	if res.refusal() {
		made = 0
	}
	o := outcome{code: res.Code}
	o.attempts, o.added = attemptsMade(p.Attempts, riverAttempt, made)
	attempt := o.attempts
	switch {
	case res.Err == nil:
		o.status = vocab.DeliverySent
	case res.Permanent:
		o.status, o.errText, o.reason = vocab.DeliveryFailed, res.Err.Error(), res.Reason
	case attempt >= w.maxAttempts:
		o.status, o.errText, o.reason = vocab.DeliveryFailed, res.Err.Error(), vocab.ReasonAttemptsExhausted
	default:
		o.status, o.errText = vocab.DeliveryPending, res.Err.Error()
	}
	// The outcome is recorded even when the job's context is ending: the send happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	since, recorded, err := record(rctx, w.pool, p.DeliveryID, o)
	cancel()
	if err != nil {
		return err
	}
	if !recorded {
		return nil
	}
	switch o.status {
	case vocab.DeliverySent:
		w.metrics.outcome(p.Kind, "sent")
		w.metrics.latency.Observe(since)
		log.Info("delivered", "attempt", attempt, "response_code", res.Code, "latency_seconds", since)
		return nil
	case vocab.DeliveryFailed:
		w.metrics.outcome(p.Kind, "failed")
		log.Warn("delivery failed for good", "attempt", attempt, "reason", o.reason, "response_code", res.Code, "error", res.Err)
		return river.JobCancel(res.Err)
	}
	w.metrics.outcome(p.Kind, "retried")
	log.Info("delivery attempt failed; retrying", "attempt", attempt, "response_code", res.Code, "error", res.Err,
		"retry_after_seconds", res.RetryAfter.Seconds())
	if res.RetryAfter > 0 {
		return river.JobSnooze(res.RetryAfter)
	}
	return errRetry{res.Err}
}
