package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/vocab"
)

// The report's aggregates: four statements per report here and two in deliveries.go, whatever
// the day's volume. Every one is a range scan of one tenant's rows on an index of 00004_reports.sql (or 00003's), aggregated in
// PostgreSQL. $1 is the tenant, [$2, $3) the period (the local day, or a tiled period; see tile).

// alertsSQL counts alerts and summarises time to acknowledge and to resolve (see Durations).
// Each duration is an exact bigint of microseconds (date_part's float8 seconds carry the exact
// microsecond count to well within 0.5 µs for any duration under a century, and round recovers
// it): the mean is then an exact numeric, the percentiles interpolate exact float8 integers, and
// neither depends on the order the plan feeds rows in. Microseconds are far cheaper to aggregate
// than numeric seconds. A negative duration (acknowledged or resolved before created, by
// another service's clock) is bad data: it is counted apart and left out of the statistics.
// "Open at the end" is split in two so both halves stay small ranges: alerts still unresolved (a
// partial index), and alerts resolved since the end. The alerts created in the period are
// counted by hour from its start (hours and their counts, the empty hours left out); their sum is
// the day's total.
const alertsSQL = `
with hourly as (
    select floor(extract(epoch from created_at - $2::timestamptz) / 3600)::int as h, count(*) as n
    from alerts
    where tenant_id = $1 and created_at >= $2 and created_at < $3
    group by 1
), ack as (
    select round(date_part('epoch', acknowledged_at - created_at) * 1e6)::bigint as us
    from alerts
    where tenant_id = $1 and acknowledged_at >= $2 and acknowledged_at < $3
), res as (
    select round(date_part('epoch', resolved_at - created_at) * 1e6)::bigint as us
    from alerts
    where tenant_id = $1 and resolved_at >= $2 and resolved_at < $3
), ack_stats as (
    select count(*) filter (where us >= 0) as n, count(*) filter (where us < 0) as bad,
           avg(us) filter (where us >= 0) as mean,
           percentile_cont(array[0.5, 0.9]) within group (order by us) filter (where us >= 0) as p
    from ack
), res_stats as (
    select count(*) filter (where us >= 0) as n, count(*) filter (where us < 0) as bad,
           avg(us) filter (where us >= 0) as mean,
           percentile_cont(array[0.5, 0.9]) within group (order by us) filter (where us >= 0) as p
    from res
)
select
    (select coalesce(array_agg(h order by h), '{}') from hourly),
    (select coalesce(array_agg(n order by h), '{}') from hourly),
    (select count(*) from alerts where tenant_id = $1 and resolved_at is null and created_at < $3)
      + (select count(*) from alerts where tenant_id = $1 and resolved_at >= $3 and created_at < $3),
    a.n, a.bad, round(a.mean / 1e6, 3)::float8, round(a.p[1]::numeric / 1e6, 3)::float8, round(a.p[2]::numeric / 1e6, 3)::float8,
    r.n, r.bad, round(r.mean / 1e6, 3)::float8, round(r.p[1]::numeric / 1e6, 3)::float8, round(r.p[2]::numeric / 1e6, 3)::float8
from ack_stats a, res_stats r`

func queryAlerts(ctx context.Context, tx pgx.Tx, d day, b *Body) error {
	tta, ttr := &b.TimeToAcknowledge, &b.TimeToResolve
	var hours []int32
	var counts []int64
	err := tx.QueryRow(ctx, alertsSQL, d.tenant.id, d.start, d.end).Scan(
		&hours, &counts, &b.Alerts.OpenAtEnd,
		&tta.Count, &tta.BadTimestamps, &tta.MeanSeconds, &tta.P50Seconds, &tta.P90Seconds,
		&ttr.Count, &ttr.BadTimestamps, &ttr.MeanSeconds, &ttr.P50Seconds, &ttr.P90Seconds)
	if err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	b.Alerts.Acknowledged, b.Alerts.Resolved = tta.Count+tta.BadTimestamps, ttr.Count+ttr.BadTimestamps
	b.AlertsPerHour = make([]int64, int((d.end.Sub(d.start)+time.Hour-1)/time.Hour))
	for i, h := range hours {
		if int(h) < len(b.AlertsPerHour) {
			b.AlertsPerHour[h] += counts[i]
		}
		b.Alerts.Triggered += counts[i]
	}
	return nil
}

// escalationsSQL reads the escalation task's events in one scan: a row per step (grouping set
// (escalation_step)) and a total row (grouping set ()), which also counts exhausted policies (by
// alert, in case one was recorded twice) and ack timeouts. $4 to $6 are the events escalated,
// policy_exhausted and ack_timeout (escalationEvents).
const escalationsSQL = `
select grouping(escalation_step) = 1 as total_row,
       escalation_step,
       count(*) filter (where event = $4),
       count(distinct alert_id) filter (where event = $5),
       count(*) filter (where event = $6)
from alert_events
where tenant_id = $1 and at >= $2 and at < $3
  and event in ($4, $5, $6)
group by grouping sets ((escalation_step), ())
order by total_row, escalation_step nulls last`

// escalationEvents are escalationsSQL's $4 to $6.
var escalationEvents = []any{vocab.EventEscalated, vocab.EventPolicyExhausted, vocab.EventAckTimeout}

func queryEscalations(ctx context.Context, tx pgx.Tx, d day, b *Body) error {
	rows, err := tx.Query(ctx, escalationsSQL, append([]any{d.tenant.id, d.start, d.end}, escalationEvents...)...)
	if err != nil {
		return fmt.Errorf("escalations: %w", err)
	}
	defer rows.Close()
	e := &b.Escalations
	for rows.Next() {
		var (
			total                      bool
			step                       *int32
			escalated, exhausted, acks int64
		)
		if err := rows.Scan(&total, &step, &escalated, &exhausted, &acks); err != nil {
			return fmt.Errorf("escalations: %w", err)
		}
		switch {
		case total:
			e.Total, e.PoliciesExhausted, e.AckTimeouts = escalated, exhausted, acks
		case escalated > 0:
			e.ByStep = append(e.ByStep, StepCount{Step: step, Count: escalated})
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("escalations: %w", err)
	}
	return nil
}

// pagesSQL counts notifications by responder and by hour bucket: $4 are the first instants of
// the period's stretches of business, off and sleep hours, in order, and $5 their buckets (see
// hourBuckets), so width_bucket finds each page's stretch; $6 to $8 name the buckets business,
// off and sleep. The stretches are disjoint and cover the period, so the buckets sum to the
// total.
const pagesSQL = `
select n.responder_id, coalesce(r.name, ''), n.total, n.business, n.off, n.sleep
from (
    select responder_id,
           count(*) as total,
           count(*) filter (where bucket = $6) as business,
           count(*) filter (where bucket = $7) as off,
           count(*) filter (where bucket = $8) as sleep
    from (
        select responder_id, ($5::text[])[width_bucket(created_at, $4::timestamptz[])] as bucket
        from notifications
        where tenant_id = $1 and created_at >= $2 and created_at < $3
    ) p
    group by responder_id
) n
left join responders r on r.id = n.responder_id
order by n.total desc, n.responder_id`

// pagesArgs returns pagesSQL's arguments for tenant's period [start, end) in loc.
func pagesArgs(tenant string, start, end time.Time, loc *time.Location) []any {
	edges, buckets := hourBuckets(start, end, loc)
	return []any{tenant, start, end, edges, buckets, bucketBusiness, bucketOff, bucketSleep}
}

func queryPages(ctx context.Context, tx pgx.Tx, d day, b *Body) error {
	rows, err := tx.Query(ctx, pagesSQL, pagesArgs(d.tenant.id, d.start, d.end, d.tenant.loc)...)
	if err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ResponderPages, error) {
		var p ResponderPages
		err := r.Scan(&p.ResponderID, &p.Name, &p.Total, &p.BusinessHours, &p.OffHours, &p.SleepHours)
		return p, err
	})
	if err != nil {
		return fmt.Errorf("pages: %w", err)
	}
	p := &b.Pages
	p.ByResponder = list
	for _, r := range list {
		p.Total += r.Total
		p.BusinessHours += r.BusinessHours
		p.OffHours += r.OffHours
		p.SleepHours += r.SleepHours
	}
	return nil
}

// maxSources is how many of the noisiest sources a report names.
const maxSources = 5

// sourcesSQL ranks sources by alerts created; ties by source in byte order, whatever the
// database's collation, so the list is the same on every server.
const sourcesSQL = `
select source, count(*)
from alerts
where tenant_id = $1 and created_at >= $2 and created_at < $3
group by source
order by count(*) desc, source collate "C"
limit $4`

func querySources(ctx context.Context, tx pgx.Tx, d day, b *Body) error {
	rows, err := tx.Query(ctx, sourcesSQL, d.tenant.id, d.start, d.end, maxSources)
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SourceCount])
	if err != nil {
		return fmt.Errorf("sources: %w", err)
	}
	b.NoisiestSources = list
	return nil
}
