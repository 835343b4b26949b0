package report

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/oncall"
)

// day is one tenant's local day and the period its report covers, all as instants computed from
// the tenant's zone. The period is the local day, midnight to midnight, unless the tenant's
// reports around it were written under another zone: then it is tiled between them (see tile).
type day struct {
	tenant     *tenant
	date       civilDate
	start      time.Time // the period: [start, end)
	end        time.Time
	localStart time.Time // local midnight
	localEnd   time.Time // the next local midnight
	ordinal    int       // 1 for the most recent finished day, 2 for the one before, ...
	// The tenant's reports before and after the date (nil: none), which the period is tiled
	// between.
	prev, next *neighbour
}

// civilDate is a calendar date, without a zone.
type civilDate struct {
	year  int
	month time.Month
	day   int
}

func dateOf(t time.Time) civilDate {
	y, m, d := t.Date()
	return civilDate{y, m, d}
}

// addDays normalises like time.Date: the 32nd of a month is the 1st of the next.
func (c civilDate) addDays(n int) civilDate {
	return dateOf(time.Date(c.year, c.month, c.day+n, 0, 0, 0, 0, time.UTC))
}

func (c civilDate) before(o civilDate) bool {
	return c.year < o.year || (c.year == o.year && (c.month < o.month || (c.month == o.month && c.day < o.day)))
}

func (c civilDate) weekday() time.Weekday {
	return time.Date(c.year, c.month, c.day, 0, 0, 0, 0, time.UTC).Weekday()
}

// pg is c as a PostgreSQL date.
func (c civilDate) pg() pgtype.Date {
	return pgtype.Date{Time: time.Date(c.year, c.month, c.day, 0, 0, 0, 0, time.UTC), Valid: true}
}

func (c civilDate) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", c.year, c.month, c.day)
}

// newDay builds the local day of date in t's zone, its period the whole local day.
func newDay(t *tenant, date civilDate, ordinal int) day {
	start, end := localInstant(date, 0, t.loc), localInstant(date.addDays(1), 0, t.loc)
	return day{tenant: t, date: date, start: start, end: end, localStart: start, localEnd: end, ordinal: ordinal}
}

// candidateDays returns the last n finished local days of t at now, most recent first: the day
// just finished is day 1. It ends at the first instant of now's local date, so at or before now;
// now's own date has not ended. A day that ended by the tenant's creation is none: no report
// covers a day before the tenant existed (an old tenant, created_at null, has no such limit).
// Nor is a day that starts before the supported range (civil.MinInstant).
func candidateDays(t *tenant, now time.Time, n int) []day {
	today := dateOf(now.In(t.loc))
	out := make([]day, 0, n)
	for i := 1; i <= n; i++ {
		d := newDay(t, today.addDays(-i), i)
		if t.createdAt != nil && !d.localEnd.After(*t.createdAt) {
			break // and every older day
		}
		if d.localStart.Before(civil.MinInstant) {
			break // outside the supported range, as every older day
		}
		out = append(out, d)
	}
	return out
}

// localInstant returns the instant at which the wall clock of loc reads date at hour:00, by
// package civil's rule (the one oncall applies to handoffs): where that reading is skipped (a
// DST gap), the first instant after the gap; where it occurs twice, the first occurrence. A day
// then starts at the first instant of its date even in zones whose DST change happens at
// midnight (America/Santiago, America/Havana).
func localInstant(date civilDate, hour int, loc *time.Location) time.Time {
	return civil.Date(date.year, date.month, date.day, hour, 0, 0, 0, loc)
}

// missingSQL returns the ordinals (1-based positions in the arrays) of the candidate days that
// have no daily report, each with the tenant's reports of the nearest earlier and later dates
// (which its period is tiled between), in one statement. "No report" is by the tenant's local
// date (the unique key (tenant_id, kind, period_date)), not by period_start: a tenant whose zone
// changed has every date start at another instant, and a date reported under the old zone is
// still reported. Each lookup is a probe or a one-row range scan of that unique key.
const missingSQL = `
select c.ord, p.period_date, p.period_start, p.period_end, p.time_zone,
       n.period_date, n.period_start, n.period_end, n.time_zone
from unnest($1::text[], $2::date[]) with ordinality as c(tenant_id, period_date, ord)
left join lateral (
    select r.period_date, r.period_start, r.period_end, r.time_zone from reports r
    where r.tenant_id = c.tenant_id and r.kind = $3 and r.period_date < c.period_date
    order by r.period_date desc limit 1
) p on true
left join lateral (
    select r.period_date, r.period_start, r.period_end, r.time_zone from reports r
    where r.tenant_id = c.tenant_id and r.kind = $3 and r.period_date > c.period_date
    order by r.period_date limit 1
) n on true
where not exists (select 1 from reports r
                  where r.tenant_id = c.tenant_id and r.kind = $3 and r.period_date = c.period_date)
order by c.ord`

// missingDays returns the days among candidates that have no report yet, in their order, each
// tiled between its neighbouring reports; and how many of them those reports already cover
// entirely (left out: nothing of them is left to report).
func missingDays(ctx context.Context, q oncall.Querier, candidates []day) (missing []day, covered int, err error) {
	if len(candidates) == 0 {
		return nil, 0, nil
	}
	tenants := make([]string, len(candidates))
	dates := make([]pgtype.Date, len(candidates))
	for i, d := range candidates {
		tenants[i], dates[i] = d.tenant.id, d.date.pg()
	}
	rows, err := q.Query(ctx, missingSQL, tenants, dates, Kind)
	if err != nil {
		return nil, 0, fmt.Errorf("find missing days: %w", err)
	}
	var (
		ord        int64
		prev, next neighbourRow
	)
	_, err = pgx.ForEachRow(rows, []any{&ord, &prev.date, &prev.start, &prev.end, &prev.zone,
		&next.date, &next.start, &next.end, &next.zone}, func() error {
		d := candidates[ord-1]
		d.prev, d.next = prev.neighbour(), next.neighbour()
		d.tile()
		if d.end.After(d.start) {
			missing = append(missing, d)
		} else {
			covered++
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("find missing days: %w", err)
	}
	return missing, covered, nil
}
