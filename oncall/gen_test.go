package oncall

import (
	"fmt"
	"sync"
	"time"

	"pgregory.net/rapid"

	"github.com/opsworker/opsworker/civil"
)

// genZones are the zones random schedules live in: the table tests' ones, UTC, and some with
// odd rules (a 2-hour DST jump, a 45-minute offset, a negative-DST zone, a half-hour one).
var genZones = []string{
	"Europe/Berlin", "America/Chicago", "Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata", "UTC",
	"Antarctica/Troll", "Asia/Kathmandu", "Europe/Dublin", "America/St_Johns",
}

// Random schedules live anywhere in the supported range: past 2037 zones run on their rules
// rather than their tables, and the model must be exact to the range's last instant.
var (
	genStart = civil.MinInstant
	genEnd   = civil.MaxInstant
)

// transitions lists each generator zone's offset changes in [genStart, genEnd), found with
// ZoneBounds (not with package civil, whose answers are under test), so that windows can be
// aimed at them.
var transitions = sync.OnceValue(func() map[string][]time.Time {
	m := map[string][]time.Time{}
	for _, name := range genZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			panic(err)
		}
		for t := genStart.In(loc); t.Before(genEnd); {
			_, end := t.ZoneBounds()
			if !end.After(t) && !end.IsZero() {
				t = t.Add(time.Hour) // ZoneBounds is wrong on a leap year's last day: see civil.Zone
				continue
			}
			if end.IsZero() || !end.Before(genEnd) {
				break
			}
			_, before := t.Zone()
			if _, after := end.Zone(); after != before {
				m[name] = append(m[name], end)
			}
			t = end
		}
	}
	return m
})

func genLocation(t *rapid.T) *time.Location {
	name := pick(t, "zone", genZones...)
	loc, err := civil.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// genFocus is an instant near which a schedule's events cluster: most often a DST change of any
// year of the range.
func genFocus(t *rapid.T, loc *time.Location) time.Time {
	ts := transitions()[loc.String()]
	switch k := uniform(t, "focus_kind", 0, 8); {
	case k < 5 && len(ts) > 0:
		return pick(t, "transition", ts...)
	case k == 6:
		// The turn of a year, leap years past 2037 included (see civil.Zone).
		y := int(uniform(t, "year", int64(genStart.Year()), int64(genEnd.Year()-1)))
		return time.Date(y, 12, 31, int(uniform(t, "hour", 0, 23)), 0, 0, 0, time.UTC)
	case k == 7:
		// An edge of the range.
		edge := pick(t, "edge", genStart, genEnd)
		return edge.Add(time.Duration(uniform(t, "edge_min", -3*24*60, 3*24*60)) * time.Minute)
	}
	return genStart.Add(time.Duration(uniform(t, "focus_min", 0, int64(genEnd.Sub(genStart)/time.Minute))) * time.Minute)
}

// genInRange moves an instant of a schedule's data into the supported range (a minute short of
// its end, so that an override starting there still ends inside).
func genInRange(u time.Time) time.Time {
	if u.Before(genStart) {
		return genStart
	}
	if last := genEnd.Add(-time.Minute); u.After(last) {
		return last
	}
	return u
}

// uniform draws an integer in [lo, hi] with every value equally likely: rapid's own integers
// favour small values and edges, which would make most windows a minute long. It still shrinks
// towards lo.
func uniform(t *rapid.T, label string, lo, hi int64) int64 {
	return lo + int64(rapid.Uint64().Draw(t, label)%uint64(hi-lo+1))
}

// pick draws one of xs, each equally likely.
func pick[T any](t *rapid.T, label string, xs ...T) T {
	return xs[uniform(t, label, 0, int64(len(xs)-1))]
}

// genNear is an instant within [-before, after] of focus, or within two days of it: on whole
// minutes mostly, sometimes at a local wall time of a nearby day (02:30 on a change day, say),
// sometimes with nanoseconds.
func genNear(t *rapid.T, label string, loc *time.Location, focus time.Time, before, after time.Duration) time.Time {
	const near = 2 * 24 * time.Hour
	switch uniform(t, label+"_kind", 0, 4) {
	case 0:
		l := focus.In(loc)
		day := int(uniform(t, label+"_day", -2, 2))
		mins := int(uniform(t, label+"_wall", 0, 24*60-1))
		return time.Date(l.Year(), l.Month(), l.Day()+day, 0, mins, 0, 0, loc)
	case 1:
		return focus.Add(time.Duration(uniform(t, label+"_ns", -int64(min(before, near)), int64(min(after, near)))))
	case 2:
		return focus.Add(time.Duration(uniform(t, label+"_min", -int64(min(before, near)/time.Minute), int64(min(after, near)/time.Minute))) * time.Minute)
	}
	return focus.Add(time.Duration(uniform(t, label+"_min", -int64(before/time.Minute), int64(after/time.Minute))) * time.Minute)
}

func genRestriction(t *rapid.T) Restriction {
	r := Restriction{StartDay: int(uniform(t, "start_day", 0, 7))}
	if uniform(t, "night", 0, 1) == 0 {
		r.StartTime = time.Duration(uniform(t, "start_min", 60, 200)) * time.Minute // around the changes
	} else {
		r.StartTime = time.Duration(uniform(t, "start_min", 0, 24*60-1)) * time.Minute
	}
	if uniform(t, "long", 0, 4) == 0 {
		r.Duration = time.Duration(uniform(t, "dur_min", 1, 7*24*60)) * time.Minute
	} else {
		r.Duration = time.Duration(uniform(t, "dur_min", 1, 24*60)) * time.Minute
	}
	return r
}

const genPeople = 6

func genLayer(t *rapid.T, loc *time.Location, focus time.Time, id int64, priority int) Layer {
	l := Layer{ID: id, Name: fmt.Sprintf("layer %d", id), Priority: priority}
	l.ShiftUnit = pick(t, "unit", Hour, Day, Week)
	switch l.ShiftUnit {
	case Hour:
		l.ShiftLength = pick(t, "hours", 1, 1, 2, 3, 8, 12, 12, 24, 36)
	case Day:
		l.ShiftLength = int(uniform(t, "days", 1, 10))
	case Week:
		l.ShiftLength = int(uniform(t, "weeks", 1, 3))
	}
	l.RotationStart = genInRange(genNear(t, "rotation_start", loc, focus, 400*24*time.Hour, 5*24*time.Hour))
	l.Participants = rapid.SliceOfN(rapid.Int64Range(1, genPeople), 1, 5).Draw(t, "participants")
	if uniform(t, "has_end", 0, 3) == 0 {
		l.EndsAt = genInRange(genNear(t, "ends_at", loc, focus, 10*24*time.Hour, 10*24*time.Hour))
	}
	if uniform(t, "restricted", 0, 1) == 0 {
		l.Restrictions = rapid.SliceOfN(rapid.Custom(genRestriction), 1, 3).Draw(t, "restrictions")
	}
	return l
}

func genOverride(t *rapid.T, loc *time.Location, focus time.Time, id int64) Override {
	o := Override{ID: id, ResponderID: rapid.Int64Range(1, genPeople).Draw(t, "responder")}
	if uniform(t, "replacing", 0, 1) == 0 {
		o.ReplacesResponderID = rapid.Int64Range(1, genPeople).Draw(t, "replaces")
	}
	o.Start = genInRange(genNear(t, "override_start", loc, focus, 4*24*time.Hour, 3*24*time.Hour))
	o.End = o.Start.Add(genLength(t, "override", []time.Duration{time.Minute, time.Hour, 12 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour}).Truncate(time.Minute) + time.Minute)
	if o.End.After(genEnd) {
		o.End = genEnd
	}
	// Few distinct creation times, so that ties (broken by id) happen.
	o.CreatedAt = genStart.Add(time.Duration(uniform(t, "created", 0, 3)) * time.Hour)
	return o
}

// genSchedule draws a valid schedule and the instant its events cluster around. A quarter of
// them name stale ids: one or two of the people participants and overrides are drawn from are
// missing from Responders.
func genSchedule(t *rapid.T) (*Schedule, time.Time) {
	loc := genLocation(t)
	focus := genFocus(t, loc)
	s := &Schedule{ID: 1, TenantID: "t", Name: "random", Location: loc, Responders: map[int64]Responder{}}
	for id := int64(1); id <= genPeople; id++ {
		s.Responders[id] = Responder{ID: id, Name: fmt.Sprintf("r%d", id)}
	}
	if uniform(t, "stale", 0, 3) == 0 {
		for range uniform(t, "stale_ids", 1, 2) {
			delete(s.Responders, uniform(t, "stale_id", 1, genPeople))
		}
	}
	priorities := rapid.Permutation([]int{-3, -1, 0, 1, 2, 5, 9}).Draw(t, "priorities")[:uniform(t, "layers", 0, 4)]
	for i, p := range priorities {
		s.Layers = append(s.Layers, genLayer(t, loc, focus, int64(i+1), p))
	}
	n := int(uniform(t, "overrides", 0, 6))
	ids := rapid.Permutation([]int64{11, 12, 13, 14, 15, 16}).Draw(t, "override_ids")
	for i := range n {
		s.Overrides = append(s.Overrides, genOverride(t, loc, focus, ids[i]))
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("generated an invalid schedule: %v", err)
	}
	return s, focus
}

// genWindow draws [from, to) near focus: from a minute to three weeks long. Lengths are drawn on
// a scale first, since rapid favours small numbers and a window shorter than its shifts tests
// little.
func genWindow(t *rapid.T, loc *time.Location, focus time.Time) (time.Time, time.Time) {
	from := genNear(t, "from", loc, focus, 3*24*time.Hour, 24*time.Hour)
	return from, from.Add(genLength(t, "window", []time.Duration{time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour, 3 * 24 * time.Hour, 3 * 24 * time.Hour, 7 * 24 * time.Hour, 21 * 24 * time.Hour}))
}

// genLength draws a duration of about one of scales: between half of it and all of it.
func genLength(t *rapid.T, label string, scales []time.Duration) time.Duration {
	scale := int64(pick(t, label+"_scale", scales...))
	return time.Duration(scale - uniform(t, label+"_less", 0, scale/2))
}

// who is a shift's responder id, 0 for a gap.
func who(r *Responder) int64 {
	if r == nil {
		return 0
	}
	return r.ID
}

// sameResponder reports whether two shifts have the same responder, or are both gaps.
func sameResponder(a, b *Responder) bool {
	return (a == nil) == (b == nil) && (a == nil || a.ID == b.ID)
}

// checkTimeline fails t unless ss covers [from, to) exactly with contiguous, non-empty,
// merged shifts.
func checkTimeline(t interface {
	Helper()
	Fatalf(string, ...any)
}, ss []Shift, from, to time.Time) {
	t.Helper()
	if len(ss) == 0 {
		t.Fatalf("no shifts over [%v, %v)", from, to)
	}
	if !ss[0].Start.Equal(from) || !ss[len(ss)-1].End.Equal(to) {
		t.Fatalf("shifts cover [%v, %v), not [%v, %v)", ss[0].Start, ss[len(ss)-1].End, from, to)
	}
	for i, s := range ss {
		if !s.Start.Before(s.End) {
			t.Fatalf("shift %d is empty or reversed: [%v, %v)", i, s.Start, s.End)
		}
		if i > 0 {
			if !ss[i-1].End.Equal(s.Start) {
				t.Fatalf("shift %d ends at %v, shift %d starts at %v", i-1, ss[i-1].End, i, s.Start)
			}
			if sameResponder(ss[i-1].Responder, s.Responder) {
				t.Fatalf("shifts %d and %d both have %d: not merged", i-1, i, who(s.Responder))
			}
		}
	}
}
