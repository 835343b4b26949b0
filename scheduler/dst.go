package scheduler

import (
	"fmt"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// nextFixed is Next for a fixed-time spec: the wall-clock times the spec's fields name, each at
// its instant by package civil's rule (the first instant after a spring-forward gap, the first
// occurrence in a fall-back overlap), the first of them after t. This is Vixie cron's behaviour
// and DESIGN.md's rule for every wall-clock time.
//
// Readings at or before t's own resolve to t or earlier. A later reading can resolve to an
// instant at or before t only inside a fall-back overlap (t in its second occurrence, the reading
// in its first, already fired), so the loop runs at most as many times as the spec matches in one
// repeated hour.
func (s Spec) nextFixed(t time.Time) time.Time {
	w := civil.Wall(t.In(s.Location))
	for {
		w = s.naiveUTC.Next(w)
		if w.IsZero() {
			return w
		}
		if n := civil.Resolve(s.Location, w); n.After(t) {
			return n
		}
	}
}

// DSTNote tells how a DST change inside a window affects a spec's firings.
type DSTNote struct {
	// Text says what happens, for people.
	Text string
}

// DSTNotes returns, for each DST change in (from, to] that touches a firing of the spec, what
// robfig/cron alone would have done and what this spec does instead. `opsworker schedule` prints
// them so that a person editing a spec sees a skipped or doubled night before it happens.
func (s Spec) DSTNotes(from, to time.Time) []DSTNote {
	if s.fields == nil {
		return nil
	}
	var notes []DSTNote
	for _, tr := range civil.Transitions(s.Location, from, to) {
		wb, wa := tr.WallBefore(), tr.WallAfter()
		// The readings the change skips or repeats: [first, last).
		first, last := wb, wa
		if tr.Jump() < 0 {
			first, last = wa, wb
		}
		m := s.naiveUTC.Next(first.Add(-time.Second)) // the spec's first reading in them
		if m.IsZero() || !m.Before(last) {
			continue
		}
		date := first.Format(time.DateOnly)
		var text string
		switch {
		case tr.Jump() > 0 && s.fixed:
			text = fmt.Sprintf("%s: %s does not exist (clocks jump from %s to %s); robfig/cron would skip it, this spec runs at %s instead",
				date, m.Format("15:04"), wb.Format("15:04"), wa.Format("15:04"), civil.Resolve(s.Location, m).Format("15:04 MST"))
		case tr.Jump() > 0:
			text = fmt.Sprintf("%s: clocks jump from %s to %s; the firings of an interval spec in between do not happen",
				date, wb.Format("15:04"), wa.Format("15:04"))
		case s.fixed:
			text = fmt.Sprintf("%s: %s occurs twice (clocks go back from %s to %s); robfig/cron would run twice, this spec runs once, at the first",
				date, m.Format("15:04"), wb.Format("15:04"), wa.Format("15:04"))
		default:
			text = fmt.Sprintf("%s: clocks go back from %s to %s; an interval spec fires through both occurrences of that hour",
				date, wb.Format("15:04"), wa.Format("15:04"))
		}
		notes = append(notes, DSTNote{Text: text})
	}
	return notes
}
