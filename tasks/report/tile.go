package report

import (
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// neighbour is a report of the tenant next to a day being reported: its date, its period and
// the zone it was written under.
type neighbour struct {
	date       civilDate
	start, end time.Time
	zone       string
}

// neighbourRow scans a neighbour that may be absent (a left join that found nothing).
type neighbourRow struct {
	date       pgtype.Date
	start, end pgtype.Timestamptz
	zone       pgtype.Text
}

func (r neighbourRow) neighbour() *neighbour {
	if !r.date.Valid {
		return nil
	}
	return &neighbour{date: dateOf(r.date.Time), start: r.start.Time, end: r.end.Time, zone: r.zone.String}
}

// tile sets d's period from its local day and its neighbouring reports, so that a tenant's
// reports cover time without overlap or gap (DESIGN.md, "Report semantics"):
//   - the period starts where the report of the day before ended, and ends where the report of
//     the day after starts. Under one zone these are the local midnights anyway; after a change
//     of the tenant's zone they are not, and the first day in the new zone is longer or shorter.
//   - a report of an older or newer date that reaches into the local day (a zone moved by a day
//     or more) also cuts the period, so no instant is reported twice. Older neighbours that do
//     not reach it leave the days in between unreported (they were before the catch-up window
//     or the tenant's creation), as they were.
//
// The period may come out empty: the neighbours cover the whole local day, and there is nothing
// left to report.
func (d *day) tile() {
	d.start, d.end = d.localStart, d.localEnd
	if p := d.prev; p != nil && (p.date == d.date.addDays(-1) || p.end.After(d.start)) {
		d.start = p.end
	}
	if n := d.next; n != nil && (n.date == d.date.addDays(1) || n.start.Before(d.end)) {
		d.end = n.start
	}
}

// follows re-tiles d after the report of w was written in this run, when w is now d's nearest
// earlier report: days are written oldest first, so a day starts where the one just written
// ended.
func (d *day) follows(w day) {
	if d.prev != nil && !d.prev.date.before(w.date) {
		return
	}
	d.prev = &neighbour{date: w.date, start: w.start, end: w.end, zone: w.tenant.zone}
	d.tile()
}

// tiled reports whether d's period is not its local day, and what it was tiled to.
func (d day) tiled() *Tiling {
	if d.start.Equal(d.localStart) && d.end.Equal(d.localEnd) {
		return nil
	}
	loc := d.tenant.loc
	t := &Tiling{LocalDayStart: d.localStart.In(loc), LocalDayEnd: d.localEnd.In(loc)}
	if !d.start.Equal(d.localStart) {
		t.PreviousTimeZone = d.prev.zone
	}
	if !d.end.Equal(d.localEnd) {
		t.NextTimeZone = d.next.zone
	}
	return t
}
