package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Isolation of destinations.
//
// A destination is a host and port (a webhook's or Slack's, or the SMTP server). One that hangs
// or answers slowly must not take the delivery workers from the others, yet a healthy one must
// be able to use them all (one receiver taking thousands of pages a second; every tenant's Slack
// behind one host). So the limit a destination gets follows a health signal, kept in memory per
// process:
//
//   - new: no answer from it yet in this process (or none for 10 minutes). At most PerHost
//     (DELIVERY_PER_HOST) attempts to it run at once; a first answer within SlowAfter makes it
//     fast.
//   - fast: its last attempt answered (any status) within SlowAfter (DELIVERY_SLOW_AFTER). No
//     limit of its own: it may use every worker.
//   - slow: its last attempt timed out, was cut short, or answered after SlowAfter; or one of
//     its attempts is running past that now. At most PerHost attempts to it run at once, each
//     holding a seat of the slow lane.
//
// The slow lane has SlowLane (DELIVERY_SLOW_LANE) seats, shared by all slow destinations. An
// attempt to a slow destination takes a seat when it starts; an attempt to a fast destination
// that runs past SlowAfter — or to a new one past a tenth of it, since a new destination has yet
// to show it answers — takes one at that moment, and if none is free it is cut short there and
// then (a failed attempt, retried on the schedule; the receiver may have got the page, which it
// dedupes by webhook-id). A job whose destination is at its limit, or slow with the lane full,
// is not attempted: it is snoozed for a moment (River counts no attempt) and its worker is free
// at once. A worker never waits for a slot.
//
// What this guarantees, with W workers and S seats: at no time do more than S attempts run
// longer than SlowAfter, so at least W − S workers are always free or within SlowAfter of being
// free (within a tenth of it while they probe new destinations), and a healthy destination is
// never limited below them. A destination that hangs from its first page holds at most PerHost
// workers however many pages it has (30 pages to a hanging receiver beside 20 to a healthy one:
// the healthy ones go at once); one that answered well and starts hanging keeps the attempts it
// had for at most SlowAfter, then at most S. Many new destinations that all hang (30 distinct
// hanging receivers, 20 workers) hold the workers for a tenth of SlowAfter per wave before all
// but S are cut: a healthy page queued behind k of them waits about
// (1 + ⌈(k − W) / (W − S)⌉) × SlowAfter/10 — 200 ms for 30 with the defaults — never
// DELIVERY_TIMEOUT. Limits are per process: a fleet of n replicas gives a destination n times
// as many.

// Lane settings' defaults (Options documents them).
const (
	defaultPerHost   = 4
	defaultSlowAfter = time.Second
	// forgetAfter is how long an idle destination's health is kept.
	forgetAfter = 10 * time.Minute
)

type destState int8

const (
	destNew destState = iota
	destFast
	destSlow
)

// Reasons a job is put back without an attempt (opsworker_delivery_deferred_total's why).
const (
	deferBusy     = "destination_busy"
	deferLaneFull = "slow_lane_full"
)

// lanes keeps each destination's health and attempts in flight, and the slow lane's seats.
type lanes struct {
	perHost   int
	slowAfter time.Duration
	seatsMax  int
	metrics   *Metrics

	mu    sync.Mutex
	seats int // attempts holding a slow-lane seat
	dests map[string]*dest
	swept time.Time
}

type dest struct {
	state    destState
	inflight int
	used     time.Time
}

func newLanes(perHost int, slowAfter time.Duration, seats int, m *Metrics) *lanes {
	return &lanes{perHost: perHost, slowAfter: slowAfter, seatsMax: seats, metrics: m, dests: map[string]*dest{}}
}

// probeAfter is how long an attempt to a new destination may run before it counts as slow.
func (l *lanes) probeAfter() time.Duration { return l.slowAfter / 10 }

// ticket is one attempt's place in its destination's lane.
type ticket struct {
	l      *lanes
	d      *dest
	start  time.Time
	timer  *time.Timer
	cancel context.CancelCauseFunc

	// Under l.mu:
	seat, cut, done bool
}

// errCut is the cause of an attempt's context when it is cut short.
var errCut = errors.New("cut short")

// acquire admits an attempt to destination key, whose send cancel stops; it returns nil and why
// when the attempt must wait (a snooze, never a blocked worker), and how long to snooze.
func (l *lanes) acquire(key string, cancel context.CancelCauseFunc) (*ticket, string, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	d := l.dests[key]
	if d == nil {
		d = &dest{}
		l.dests[key] = d
	}
	d.used = now
	t := &ticket{l: l, d: d, start: now, cancel: cancel}
	after := l.slowAfter
	switch d.state {
	case destNew:
		if d.inflight >= l.perHost {
			// Its first answers are due within a tenth of SlowAfter, usually far sooner.
			return nil, deferBusy, l.probeAfter() / 4
		}
		after = l.probeAfter()
	case destSlow:
		if d.inflight >= l.perHost {
			return nil, deferBusy, time.Second
		}
		if l.seats >= l.seatsMax {
			return nil, deferLaneFull, time.Second
		}
		l.takeSeat(t)
	}
	d.inflight++
	if !t.seat {
		t.timer = time.AfterFunc(after, t.overdue)
	}
	return t, "", 0
}

// overdue runs when an attempt outlasts its destination's patience: the destination is slow
// now, and the attempt takes a seat of the slow lane or, with none free, is cut short.
func (t *ticket) overdue() {
	l := t.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.done {
		return
	}
	t.d.state = destSlow
	if t.seat {
		return
	}
	if l.seats < l.seatsMax {
		l.takeSeat(t)
		return
	}
	t.cut = true
	t.cancel(errCut)
}

func (l *lanes) takeSeat(t *ticket) {
	t.seat = true
	l.seats++
	l.metrics.seats.Set(float64(l.seats))
}

// release ends the attempt: answered says whether the destination answered (any status), and
// timedOut whether the attempt ran into DELIVERY_TIMEOUT. It returns how long the attempt took
// and whether it was cut short.
func (t *ticket) release(answered, timedOut bool) (time.Duration, bool) {
	if t.timer != nil {
		t.timer.Stop()
	}
	l := t.l
	took := time.Since(t.start)
	l.mu.Lock()
	defer l.mu.Unlock()
	t.done = true
	t.d.inflight--
	t.d.used = time.Now()
	if t.seat {
		l.seats--
		l.metrics.seats.Set(float64(l.seats))
	}
	switch {
	case t.cut || timedOut:
		t.d.state = destSlow
	case answered && took <= l.slowAfter:
		t.d.state = destFast
	case answered:
		t.d.state = destSlow
	}
	return took, t.cut
}

// sweep forgets destinations idle for forgetAfter, at most once a minute.
func (l *lanes) sweep(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, d := range l.dests {
		if d.inflight == 0 && now.Sub(d.used) > forgetAfter {
			delete(l.dests, k)
		}
	}
}

// timedOut reports whether an attempt's error is its deadline (DELIVERY_TIMEOUT) running out.
func timedOut(ctx context.Context, err error) bool {
	var ne net.Error
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// cutResult is the outcome of an attempt cut short.
func (l *lanes) cutResult(took time.Duration) Result {
	return transient(fmt.Errorf("%w after %v without an answer: the destination is slow and all %d seats of the slow lane (DELIVERY_SLOW_LANE) are taken",
		errCut, took.Round(time.Millisecond), l.seatsMax))
}
