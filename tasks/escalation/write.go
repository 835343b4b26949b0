package escalation

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// writeSQL stores a batch's outcomes in one statement, one round trip, whatever the batch's
// size: the pages into the outbox, the events into the alerts' timeline and the alerts' new
// escalation state, each set read from arrays (one per column) through unnest. It returns the
// ids of the pages it inserted, which the deliveries queued in the same transaction refer to,
// and the number of alerts it updated.
//
// Every instant written is the run's now ($1), not the database's clock: a page's created_at,
// its first attempt, the event's at and the alert's last_escalated_at agree with each other and
// with next_escalation_at, and tests drive them all. A null in a column is sent as a sentinel
// the statement turns back into null ($4, $5, $6: a step, an id, an instant), so that every
// array is of a plain type that pgx encodes without reflection.
//
// The plan left out the pages the outbox already holds (see loadPaged), so the pages are plainly
// inserted: a page already in the outbox would mean the plan was wrong, and its unique key would
// fail the batch (rolled back; the next run plans again). A plain insert also costs less than
// ON CONFLICT's speculative one.
const writeSQL = `
with pages as (
    insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step,
                               schedule_id, status, next_attempt_at, created_at)
    select u.tenant_id, u.alert_id, u.responder_id, $2, u.pass, u.loop, u.step, nullif(u.schedule_id, $5), $3, $1, $1
    from unnest($7::text[], $8::bigint[], $9::bigint[], $10::int[], $11::int[], $12::int[], $13::bigint[])
         as u(tenant_id, alert_id, responder_id, pass, loop, step, schedule_id)
    returning id
), events as (
    insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
    select u.tenant_id, u.alert_id, $1, u.event, u.pass, u.loop, nullif(u.step, $4), u.details::jsonb
    from unnest($14::text[], $15::bigint[], $16::text[], $17::int[], $18::int[], $19::int[], $20::text[])
         as u(tenant_id, alert_id, event, pass, loop, step, details)
), updated as (
    update alerts a
    set escalation_step     = nullif(u.step, $4),
        escalation_loop     = u.loop,
        escalation_pass     = u.pass,
        escalated_policy_id = nullif(u.policy, $5),
        escalation_rewound  = u.rewound,
        last_escalated_at   = case when u.escalated then $1 else a.last_escalated_at end,
        next_escalation_at  = nullif(u.next, $6)
    from unnest($21::bigint[], $22::int[], $23::int[], $24::int[], $25::bigint[], $26::bool[], $27::bool[], $28::timestamptz[])
         as u(id, step, loop, pass, policy, rewound, escalated, next)
    where a.id = u.id
    returning a.id
)
select array(select id from pages), (select count(*) from updated)`

// The sentinels writeSQL turns into null: no step (positions are never negative), no id (ids
// are positive) and no instant (the zero time.Time, far outside the supported range).
const (
	nullStep int32 = math.MinInt32
	nullID   int64 = 0
)

var nullTime time.Time

// write stores the batch's outcomes as planned and returns the ids of the pages it inserted.
func write(ctx context.Context, tx pgx.Tx, outcomes []outcome, now time.Time) ([]int64, error) {
	var n struct {
		tenants              []string
		alerts, responders   []int64
		passes, loops, steps []int32
		schedules            []int64
	}
	var e struct {
		tenants, kinds, details []string
		alerts                  []int64
		passes, loops, steps    []int32
	}
	u := struct {
		alerts, policies     []int64
		steps, loops, passes []int32
		rewound, escalated   []bool
		next                 []time.Time
	}{
		alerts: make([]int64, 0, len(outcomes)), policies: make([]int64, 0, len(outcomes)),
		steps: make([]int32, 0, len(outcomes)), loops: make([]int32, 0, len(outcomes)), passes: make([]int32, 0, len(outcomes)),
		rewound: make([]bool, 0, len(outcomes)), escalated: make([]bool, 0, len(outcomes)), next: make([]time.Time, 0, len(outcomes)),
	}
	var buf []byte // every event's details, one after the other
	var ends []int
	for _, o := range outcomes {
		for _, p := range o.Pages {
			n.tenants = append(n.tenants, o.Alert.TenantID)
			n.alerts = append(n.alerts, o.Alert.ID)
			n.responders = append(n.responders, p.ResponderID)
			n.passes = append(n.passes, o.Pass)
			n.loops = append(n.loops, o.Loop)
			n.steps = append(n.steps, *o.Step) // a page always has a step
			n.schedules = append(n.schedules, orNullID(p.ScheduleID))
		}
		for _, ev := range o.Events {
			var err error
			if buf, err = appendDetails(buf, ev.Details); err != nil {
				return nil, fmt.Errorf("alert %d: encode %s event: %w", o.Alert.ID, ev.Kind, err)
			}
			ends = append(ends, len(buf))
			e.tenants = append(e.tenants, o.Alert.TenantID)
			e.alerts = append(e.alerts, o.Alert.ID)
			e.kinds = append(e.kinds, string(ev.Kind))
			e.passes = append(e.passes, ev.Pass)
			e.loops = append(e.loops, ev.Loop)
			e.steps = append(e.steps, orNullStep(ev.Step))
		}
		u.alerts = append(u.alerts, o.Alert.ID)
		u.steps = append(u.steps, orNullStep(o.Step))
		u.loops = append(u.loops, o.Loop)
		u.passes = append(u.passes, o.Pass)
		u.policies = append(u.policies, orNullID(o.EscalatedPolicyID))
		u.rewound = append(u.rewound, o.Rewound)
		u.escalated = append(u.escalated, o.Escalated)
		next := nullTime
		if o.Next != nil {
			next = *o.Next
		}
		u.next = append(u.next, next)
	}
	// One string holds every event's details; each element is a slice of it.
	all, start := string(buf), 0
	e.details = make([]string, len(ends))
	for i, end := range ends {
		e.details[i], start = all[start:end], end
	}

	var pages []int64
	var updated int64
	err := tx.QueryRow(ctx, writeSQL, now, vocab.PageEscalation, vocab.PagePending, nullStep, nullID, nullTime,
		n.tenants, n.alerts, n.responders, n.passes, n.loops, n.steps, n.schedules,
		e.tenants, e.alerts, e.kinds, e.passes, e.loops, e.steps, e.details,
		u.alerts, u.steps, u.loops, u.passes, u.policies, u.rewound, u.escalated, u.next).Scan(&pages, &updated)
	if err != nil {
		return nil, fmt.Errorf("write the batch: %w", err)
	}
	// The alerts are locked by the claim, so each is updated; anything else is a bug that must
	// not commit.
	if updated != int64(len(outcomes)) {
		return nil, fmt.Errorf("write the batch: %d alerts updated of %d claimed", updated, len(outcomes))
	}
	return pages, nil
}

func orNullStep(p *int32) int32 {
	if p == nil {
		return nullStep
	}
	return *p
}

func orNullID(p *int64) int64 {
	if p == nil {
		return nullID
	}
	return *p
}
