package civil

import "time"

// Wall returns t's wall-clock reading in t's Location (its date and clock there), as a time in
// UTC.
func Wall(t time.Time) time.Time {
	_, off := t.Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// Date is time.Date with DESIGN.md's rule: it returns the first instant at which loc's clock
// reads year-month-day hour:min:sec.nsec or later, so a reading skipped by a spring-forward gap
// gives the first instant after the gap and one repeated by a fall-back its first occurrence.
// Values out of their usual ranges are normalised as time.Date does (the 32nd of a month is the
// 1st of the next). A nil loc is read as UTC. The result is in loc.
func Date(year int, month time.Month, day, hour, min, sec, nsec int, loc *time.Location) time.Time {
	return Resolve(loc, time.Date(year, month, day, hour, min, sec, nsec, time.UTC))
}

// The wall-clock readings Resolve handles with a Zone: well beyond the supported range, and far
// enough from the ends of the int64 range (1678 and 2262) for every search window.
var (
	resolvableMin = time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)
	resolvableMax = time.Date(2250, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Resolve returns the first instant at which loc's clock shows wall's reading (wall's date and
// clock in wall's own Location) or a later one: Date for a reading held in a time.Time. Readings
// outside years 1700..2249 get time.Date's answer.
func Resolve(loc *time.Location, wall time.Time) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	w := Wall(wall)
	if w.Before(resolvableMin) || !w.Before(resolvableMax) {
		y, m, d := w.Date()
		hh, mm, ss := w.Clock()
		return time.Date(y, m, d, hh, mm, ss, w.Nanosecond(), loc)
	}
	var z Zone
	z.Init(loc)
	return time.Unix(0, z.Resolve(w.UnixNano())).In(loc)
}
