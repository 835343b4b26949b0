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

// day is one tenant's local day, with the edges of its hour buckets (see HourSplit), all as
// instants computed from the tenant's zone.
type day struct {
	tenant   *tenant
	date     civilDate
	start    time.Time // local midnight
	end      time.Time // the next local midnight
	sleepEnd time.Time // 08:00: sleep hours end, business hours start on weekdays
	bizEnd   time.Time // 18:00 on weekdays; sleepEnd on weekends (no business hours)
	sleepBeg time.Time // 22:00: sleep hours start
	ordinal  int       // 1 for the most recent finished day, 2 for the one before, ...
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

// newDay builds the local day of date in t's zone.
func newDay(t *tenant, date civilDate, ordinal int) day {
	loc := t.loc
	d := day{
		tenant:   t,
		date:     date,
		start:    localInstant(date, 0, loc),
		end:      localInstant(date.addDays(1), 0, loc),
		sleepEnd: localInstant(date, 8, loc),
		sleepBeg: localInstant(date, 22, loc),
		ordinal:  ordinal,
	}
	d.bizEnd = d.sleepEnd
	if wd := date.weekday(); wd != time.Saturday && wd != time.Sunday {
		d.bizEnd = localInstant(date, 18, loc)
	}
	return d
}

// candidateDays returns the last n finished local days of t at now, most recent first: the day
// just finished is day 1. It ends at the first instant of now's local date, so at or before now;
// now's own date has not ended.
func candidateDays(t *tenant, now time.Time, n int) []day {
	today := dateOf(now.In(t.loc))
	out := make([]day, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, newDay(t, today.addDays(-i), i))
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
// have no daily report: tenants x candidate days, left-joined to reports on the tenant's local
// date (the unique key (tenant_id, kind, period_date)), in one statement. By date, not by
// period_start: a tenant whose zone changed has every date start at another instant, and a date
// reported under the old zone is still reported.
const missingSQL = `
select c.ord
from unnest($1::text[], $2::date[]) with ordinality as c(tenant_id, period_date, ord)
left join reports r
       on r.tenant_id = c.tenant_id and r.kind = $3 and r.period_date = c.period_date
where r.id is null
order by c.ord`

// missingDays returns the days among candidates that have no report yet, in their order.
func missingDays(ctx context.Context, q oncall.Querier, candidates []day) ([]day, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	tenants := make([]string, len(candidates))
	dates := make([]pgtype.Date, len(candidates))
	for i, d := range candidates {
		tenants[i], dates[i] = d.tenant.id, d.date.pg()
	}
	rows, err := q.Query(ctx, missingSQL, tenants, dates, Kind)
	if err != nil {
		return nil, fmt.Errorf("find missing days: %w", err)
	}
	ords, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find missing days: %w", err)
	}
	out := make([]day, len(ords))
	for i, o := range ords {
		out[i] = candidates[o-1]
	}
	return out, nil
}
