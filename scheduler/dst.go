package scheduler

import (
	"fmt"
	"time"
)

// transition is a change of a zone's UTC offset, as a spring-forward gap (delta > 0) or a
// fall-back repeat (delta < 0).
type transition struct {
	at    time.Time     // the first instant under the new offset
	delta time.Duration // new offset minus old
}

// transitionsIn returns the offset changes of loc in (from, to].
func transitionsIn(loc *time.Location, from, to time.Time) []transition {
	var out []transition
	t := from.In(loc)
	for {
		_, end := t.ZoneBounds()
		// Past its tables Go's zone data can report a period ending before t (seen for the last
		// day of leap years from 2040): stop rather than walk backwards.
		if end.IsZero() || end.After(to) || !end.After(t) {
			return out
		}
		_, before := end.Add(-time.Nanosecond).Zone()
		_, after := end.Zone()
		if after != before {
			out = append(out, transition{at: end, delta: time.Duration(after-before) * time.Second})
		}
		t = end
	}
}

// wallClock returns the local wall time of instant t under a fixed offset, as a UTC time.
func wallClock(t time.Time, offset time.Duration) time.Time {
	return t.UTC().Add(offset)
}

// gapMatch returns the first wall-clock time inside the spring-forward gap of tr that the spec's
// fields match, expressed as a naive UTC time, and whether there is one.
func (s Spec) gapMatch(tr transition) (time.Time, bool) {
	_, oldOffset := tr.at.Add(-time.Nanosecond).Zone()
	gapStart := wallClock(tr.at, time.Duration(oldOffset)*time.Second)
	m := s.naiveUTC.Next(gapStart.Add(-time.Second))
	if m.IsZero() || !m.Before(gapStart.Add(tr.delta)) {
		return time.Time{}, false
	}
	return m, true
}

// firstSkippedGap finds a spring-forward gap in (t, n] during which the spec would have fired had
// the wall-clock times existed, and returns the first instant after it.
func (s Spec) firstSkippedGap(t, n time.Time) (time.Time, bool) {
	for _, tr := range transitionsIn(s.Location, t, n) {
		if tr.delta <= 0 {
			continue
		}
		if _, ok := s.gapMatch(tr); ok {
			return tr.at, true
		}
	}
	return time.Time{}, false
}

// inRepeatedHour reports whether t lies in the second occurrence of wall-clock times repeated by a
// fall-back change.
func inRepeatedHour(t time.Time) bool {
	start, _ := t.ZoneBounds()
	if start.IsZero() {
		return false
	}
	_, before := start.Add(-time.Nanosecond).Zone()
	_, after := start.Zone()
	back := time.Duration(before-after) * time.Second
	return back > 0 && t.Sub(start) < back
}

// DSTNote tells how a DST change inside a window affects a spec's firings.
type DSTNote struct {
	// Date is the local date of the change.
	Date time.Time
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
	for _, tr := range transitionsIn(s.Location, from, to) {
		before := tr.at.Add(-time.Nanosecond).In(s.Location)
		_, oldOffset := before.Zone()
		wallAt := wallClock(tr.at, time.Duration(oldOffset)*time.Second)
		date := time.Date(before.Year(), before.Month(), before.Day(), 0, 0, 0, 0, s.Location)
		if tr.delta > 0 {
			m, ok := s.gapMatch(tr)
			if !ok {
				continue
			}
			if s.fixed {
				notes = append(notes, DSTNote{date, fmt.Sprintf("%s: %s does not exist (clocks jump from %s to %s); robfig/cron would skip it, this spec runs at %s instead",
					date.Format("2006-01-02"), m.Format("15:04"), wallAt.Format("15:04"), wallAt.Add(tr.delta).Format("15:04"), tr.at.In(s.Location).Format("15:04 MST"))})
			} else {
				notes = append(notes, DSTNote{date, fmt.Sprintf("%s: clocks jump from %s to %s; the firings of an interval spec in between do not happen",
					date.Format("2006-01-02"), wallAt.Format("15:04"), wallAt.Add(tr.delta).Format("15:04"))})
			}
			continue
		}
		back := -tr.delta
		// The repeated wall times are [wallAt-back, wallAt); look for a firing in their second occurrence.
		n := s.fields.Next(tr.at.Add(-time.Second))
		if n.IsZero() || !n.Before(tr.at.Add(back)) {
			continue
		}
		wall := n.In(s.Location).Format("15:04")
		if s.fixed {
			notes = append(notes, DSTNote{date, fmt.Sprintf("%s: %s occurs twice (clocks go back from %s to %s); robfig/cron would run twice, this spec runs once, at the first",
				date.Format("2006-01-02"), wall, wallAt.Format("15:04"), wallAt.Add(-back).Format("15:04"))})
		} else {
			notes = append(notes, DSTNote{date, fmt.Sprintf("%s: clocks go back from %s to %s; an interval spec fires through both occurrences of that hour",
				date.Format("2006-01-02"), wallAt.Format("15:04"), wallAt.Add(-back).Format("15:04"))})
		}
	}
	return notes
}
