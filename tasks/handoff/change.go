package handoff

import (
	"time"

	"github.com/opsworker/opsworker/oncall"
)

// Change is a change of a schedule's final on-call set: from At on, On is on call (nil: nobody,
// a gap) where Off was (nil: nobody).
type Change struct {
	At      time.Time // in the schedule's zone
	On, Off *oncall.Responder
	// Until is when On's turn (or the gap) ends: the next change, when it comes within the horizon
	// looked at (at least two days, up to five weeks after the window); nil when it does not.
	Until *time.Time
}

// Horizons of Until: first near, and only when the last change of a window has no end in sight
// there, far. Most windows of a run (a minute, plus the lead) have no change at all, which a
// timeline of the window alone tells.
const (
	untilNear = 2 * 24 * time.Hour
	untilFar  = 35 * 24 * time.Hour
)

// Changes returns the changes of s's final on-call set at instants in (from, to], in order.
func Changes(s *oncall.Schedule, from, to time.Time) []Change {
	if !to.After(from) {
		return nil
	}
	if len(s.Shifts(from, to.Add(time.Nanosecond))) < 2 {
		return nil
	}
	out := collect(s.Shifts(from, to.Add(untilNear)), to)
	if n := len(out); n > 0 && out[n-1].Until == nil {
		out = collect(s.Shifts(from, to.Add(untilFar)), to)
	}
	return out
}

// collect turns the timeline's shifts that start up to to into changes (the first shift starts
// at the window's start, which is not a change). A shift that reaches the timeline's end has no
// known end.
func collect(shifts []oncall.Shift, to time.Time) []Change {
	var out []Change
	end := shifts[len(shifts)-1].End
	for i := 1; i < len(shifts) && !shifts[i].Start.After(to); i++ {
		sh := shifts[i]
		c := Change{At: sh.Start, On: sh.Responder, Off: shifts[i-1].Responder}
		if sh.End.Before(end) {
			until := sh.End
			c.Until = &until
		}
		out = append(out, c)
	}
	return out
}
