package civil

import "time"

// Transition is a change of a zone's UTC offset: at At the clock jumps from WallBefore to
// WallAfter. Forward (After > Before), the readings [WallBefore, WallAfter) are skipped; back,
// the readings [WallAfter, WallBefore) occur twice.
type Transition struct {
	At     time.Time     // the first instant under the new offset, in the zone
	Before time.Duration // the UTC offset until At
	After  time.Duration // the UTC offset from At
}

// Jump is the change of the offset: positive when clocks spring forward, negative when they
// fall back.
func (tr Transition) Jump() time.Duration { return tr.After - tr.Before }

// WallBefore is the reading the clock reaches at At under the old offset, as a time in UTC.
func (tr Transition) WallBefore() time.Time { return tr.At.UTC().Add(tr.Before) }

// WallAfter is the reading the clock shows at At, as a time in UTC.
func (tr Transition) WallAfter() time.Time { return tr.At.UTC().Add(tr.After) }

// Transitions returns the offset changes of loc in (from, to], oldest first, from and to clamped
// into the computation range. A change of the zone's name or DST flag that keeps the offset is no
// transition: wall clocks do not move. It walks the same zone periods as Zone, so it holds where
// Go's ZoneBounds does not (see Zone.lookup). A nil loc is read as UTC.
func Transitions(loc *time.Location, from, to time.Time) []Transition {
	var z Zone
	z.Init(loc)
	f, e := ClampNano(from), ClampNano(to)
	var out []Transition
	for p := z.at(f); p.end != never && p.end <= e; {
		q := z.at(p.end)
		if q.off != p.off {
			out = append(out, Transition{At: time.Unix(0, p.end).In(z.loc), Before: time.Duration(p.off), After: time.Duration(q.off)})
		}
		p = q
	}
	return out
}
