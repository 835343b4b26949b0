package oncall

import (
	"slices"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// window is a restriction in civil form: instances start at wall-clock times anchor + i*period
// (for every integer i) and last dur of wall-clock time.
type window struct {
	anchor, period, dur int64
}

// firstMonday: the civil epoch, 1970-01-01, was a Thursday, so the first Monday is day 4.
const firstMonday = 4 * nsDay

// window returns r in civil form, and false when it can never be active. Values Validate
// rejects are folded into range (a start day beyond 1..7 counts as daily, a start time is taken
// modulo a day, a duration is capped at a week) so that no value makes a computation unbounded.
func (r Restriction) window() (window, bool) {
	if r.Duration <= 0 {
		return window{}, false
	}
	w := window{
		anchor: int64(r.StartTime) % nsDay,
		period: nsDay,
		dur:    min(int64(r.Duration), nsWeek),
	}
	if w.anchor < 0 {
		w.anchor += nsDay
	}
	if r.StartDay >= 1 && r.StartDay <= 7 {
		w.anchor += firstMonday + int64(r.StartDay-1)*nsDay
		w.period = nsWeek
	}
	return w, true
}

// first returns the first instance start at or after civil time c.
func (w window) first(c int64) int64 {
	return w.anchor + (floorDiv(c-w.anchor-1, w.period)+1)*w.period
}

// span is an interval of instants [start, end).
type span struct{ start, end int64 }

// activeAt reports whether instant t lies in one of the restrictions' windows.
//
// An instance [resolve(cs), resolve(cs+dur)) can contain t only if cs+dur is later than t's wall
// time (else its end is at or before t) and cs is no later than t's wall time plus the largest
// fall-back (else its start is after t); the candidates in between are few.
func activeAt(z *civil.Zone, rs []Restriction, t int64) bool {
	ct := z.Civil(t)
	for _, r := range rs {
		w, ok := r.window()
		if !ok {
			continue
		}
		for cs := w.first(ct - w.dur + 1); cs <= ct+2*maxOffset; cs += w.period {
			if z.Resolve(cs) > t {
				break // later instances start later still
			}
			if t < z.Resolve(cs+w.dur) {
				return true
			}
		}
	}
	return false
}

// activeSpans returns the union of the restrictions' windows within [from, to), sorted and
// merged, found with the same bounds as activeAt.
func activeSpans(z *civil.Zone, rs []Restriction, from, to int64) []span {
	var out []span
	cf, ct := z.Civil(from), z.Civil(to)
	for _, r := range rs {
		w, ok := r.window()
		if !ok {
			continue
		}
		for cs := w.first(cf - w.dur + 1); cs <= ct+2*maxOffset; cs += w.period {
			s := z.Resolve(cs)
			if s >= to {
				break
			}
			e := min(z.Resolve(cs+w.dur), to)
			s = max(s, from)
			if s < e {
				out = append(out, span{s, e})
			}
		}
	}
	if len(out) < 2 {
		return out
	}
	slices.SortFunc(out, func(a, b span) int {
		switch {
		case a.start < b.start:
			return -1
		case a.start > b.start:
			return 1
		}
		return 0
	})
	merged := out[:1]
	for _, sp := range out[1:] {
		last := &merged[len(merged)-1]
		if sp.start <= last.end {
			last.end = max(last.end, sp.end)
			continue
		}
		merged = append(merged, sp)
	}
	return merged
}

// validRestriction reports what is wrong with r, or "" when nothing is.
func validRestriction(r Restriction) string {
	switch {
	case r.StartDay < 0 || r.StartDay > 7:
		return "start day must be 0 (daily) or 1..7 (Monday..Sunday)"
	case r.StartTime < 0 || r.StartTime >= 24*time.Hour:
		return "start time must be in [0, 24h)"
	case r.Duration < time.Minute || r.Duration > 7*24*time.Hour:
		return "duration must be in [1m, 168h]"
	}
	return ""
}
