package report

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/oncall"
)

// upcomingDays is how many local days after the period a report looks for gaps.
const upcomingDays = 7

// scheduleSet is a tenant's schedules, loaded once for all the days a run reports.
type scheduleSet struct {
	list   []scheduleRow // every schedule of the tenant, by id
	loaded map[int64]*oncall.Schedule
	bad    map[int64]error // schedules the loader rejected
}

type scheduleRow struct {
	id   int64
	name string
}

const schedulesSQL = `select id, name from oncall_schedules where tenant_id = $1 order by id`

// loadSchedules reads the tenant's schedules with one oncall.LoadMany call, able to answer at and
// after since: the start of the earliest day the run reports for the tenant (overrides that ended
// by then are not read). A schedule with bad data is kept in bad, not returned as an error: it
// becomes an error entry in the report and the tenant's other sections are still written.
func loadSchedules(ctx context.Context, q oncall.Querier, tenantID string, since time.Time) (scheduleSet, error) {
	rows, err := q.Query(ctx, schedulesSQL, tenantID)
	if err != nil {
		return scheduleSet{}, fmt.Errorf("list schedules: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (scheduleRow, error) {
		var s scheduleRow
		err := r.Scan(&s.id, &s.name)
		return s, err
	})
	if err != nil {
		return scheduleSet{}, fmt.Errorf("list schedules: %w", err)
	}
	ids := make([]int64, len(list))
	for i, s := range list {
		ids[i] = s.id
	}
	loaded, bad, err := oncall.LoadMany(ctx, q, ids, since)
	if err != nil {
		return scheduleSet{}, fmt.Errorf("load schedules: %w", err)
	}
	return scheduleSet{list: list, loaded: loaded, bad: bad}, nil
}

// report returns the schedules section of day d's report; d must not start before the since
// the set was loaded with.
func (s scheduleSet) report(d day) []ScheduleReport {
	loc := d.tenant.loc
	// The look ahead stops at the end of the supported range (the end is exclusive, so it may
	// be that end).
	until := minTime(localInstant(d.date.addDays(1+upcomingDays), 0, loc), civil.MaxInstant)
	out := make([]ScheduleReport, 0, len(s.list))
	for _, row := range s.list {
		r := ScheduleReport{ID: row.id, Name: row.name, Problems: []string{}, OnCall: []OnCallTime{}, Gaps: []Gap{}, UpcomingGaps: []Gap{}, UpcomingUntil: until.In(loc)}
		sched := s.loaded[row.id]
		if sched == nil {
			err := s.bad[row.id]
			if err == nil { // deleted between the listing and the load
				err = oncall.ErrNotFound
			}
			r.Error = err.Error()
			out = append(out, r)
			continue
		}
		r.Name = sched.Name
		if len(sched.Problems) > 0 {
			r.Problems = sched.Problems
		}
		r.OnCall, r.Gaps = coverage(sched.Shifts(d.start, d.end), loc)
		_, r.UpcomingGaps = coverage(sched.Shifts(d.end, until), loc)
		out = append(out, r)
	}
	return out
}

// coverage sums shifts into time on call per responder (by time descending, then id) and the
// gaps (in order), times shown in loc.
func coverage(shifts []oncall.Shift, loc *time.Location) ([]OnCallTime, []Gap) {
	byID := map[int64]*OnCallTime{}
	total := map[int64]time.Duration{}
	gaps := []Gap{}
	for _, sh := range shifts {
		length := sh.End.Sub(sh.Start)
		if sh.Responder == nil {
			gaps = append(gaps, Gap{Start: sh.Start.In(loc), End: sh.End.In(loc), Hours: hours(length)})
			continue
		}
		id := sh.Responder.ID
		if byID[id] == nil {
			byID[id] = &OnCallTime{ResponderID: id, Name: sh.Responder.Name}
		}
		total[id] += length
	}
	onCall := make([]OnCallTime, 0, len(byID))
	for id, o := range byID {
		o.Seconds = int64(total[id].Round(time.Second) / time.Second)
		o.Hours = hours(total[id])
		onCall = append(onCall, *o)
	}
	slices.SortFunc(onCall, func(a, b OnCallTime) int {
		if c := cmp.Compare(total[b.ResponderID], total[a.ResponderID]); c != 0 {
			return c
		}
		return cmp.Compare(a.ResponderID, b.ResponderID)
	})
	return onCall, gaps
}

// hours is d in hours, rounded to the hundredth.
func hours(d time.Duration) float64 {
	return math.Round(d.Hours()*100) / 100
}
