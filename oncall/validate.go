package oncall

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// ErrInvalid is wrapped by every error of Validate, and so by the per-schedule errors of
// LoadMany for data the model cannot answer for.
var ErrInvalid = errors.New("invalid schedule")

// Validate reports data the model cannot answer for: no Location, an unknown unit, a shift length
// that is not positive or longer than ten years, no participants, a restriction out of range, an
// override ending at or before its start, duplicate layer priorities, a rotation start, layer
// end or override start or end outside the supported range (civil.CheckRange), and the like. The
// error names the schedule and every offending layer, restriction and override, and wraps
// ErrInvalid.
//
// A participant or override responder missing from Responders is no error: it is a stale id (a
// responder deleted while still named), whose turns are empty and whose overrides are ignored;
// the loader lists them in Problems.
//
// OnCall and Shifts only mean something on a valid schedule, but never panic on any.
func (s *Schedule) Validate() error {
	if s == nil {
		return fmt.Errorf("oncall: nil schedule: %w", ErrInvalid)
	}
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if s.Location == nil {
		add("no time zone")
	}
	for _, id := range slices.Sorted(maps.Keys(s.Responders)) {
		if r := s.Responders[id]; id <= 0 || r.ID != id {
			add("responder %d: listed under id %d (ids are positive and must match)", r.ID, id)
		}
	}
	priorities := make(map[int]int64, len(s.Layers))
	for _, l := range s.Layers {
		if other, dup := priorities[l.Priority]; dup {
			add("layer %d: priority %d is also layer %d's", l.ID, l.Priority, other)
		} else {
			priorities[l.Priority] = l.ID
		}
		for _, msg := range s.layerProblems(&l) {
			add("layer %d: %s", l.ID, msg)
		}
	}
	for _, o := range s.Overrides {
		for _, msg := range s.overrideProblems(&o) {
			add("override %d: %s", o.ID, msg)
		}
	}
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("oncall: schedule %d: %s: %w", s.ID, strings.Join(p, "; "), ErrInvalid)
}

func (s *Schedule) layerProblems(l *Layer) []string {
	var p []string
	unit, known := unitNs(l.ShiftUnit)
	switch {
	case !known:
		p = append(p, fmt.Sprintf("shift unit %q is not hour, day or week", l.ShiftUnit))
	case l.ShiftLength < 1:
		p = append(p, fmt.Sprintf("shift length %d is not positive", l.ShiftLength))
	case int64(l.ShiftLength) > maxStep/unit:
		p = append(p, fmt.Sprintf("shift of %d %ss is longer than ten years", l.ShiftLength, l.ShiftUnit))
	}
	if len(l.Participants) == 0 {
		p = append(p, "no participants")
	}
	if msg := s.instantProblem("rotation start", l.RotationStart, false); msg != "" {
		p = append(p, msg)
	}
	if !l.EndsAt.IsZero() {
		if msg := s.instantProblem("end", l.EndsAt, true); msg != "" {
			p = append(p, msg)
		}
	}
	for i, r := range l.Restrictions {
		if msg := validRestriction(r); msg != "" {
			p = append(p, fmt.Sprintf("restriction %d (day %d at %v for %v): %s", i, r.StartDay, r.StartTime, r.Duration, msg))
		}
	}
	return p
}

func (s *Schedule) overrideProblems(o *Override) []string {
	var p []string
	if !o.End.After(o.Start) {
		p = append(p, fmt.Sprintf("ends (%s) at or before it starts (%s)", o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339)))
	}
	for _, msg := range []string{s.instantProblem("start", o.Start, false), s.instantProblem("end", o.End, true)} {
		if msg != "" {
			p = append(p, msg)
		}
	}
	return p
}

// instantProblem checks an instant of the schedule against the supported range, and the zone's
// offset there against what the computation believes. An exclusive end may be the range's
// exclusive end itself: what it bounds lies inside.
func (s *Schedule) instantProblem(what string, t time.Time, exclusiveEnd bool) string {
	if t.IsZero() {
		return "no " + what
	}
	if err := civil.CheckRange(t); err != nil && !(exclusiveEnd && t.Equal(civil.MaxInstant)) {
		return what + " " + err.Error()
	}
	if s.Location != nil {
		if _, off := t.In(s.Location).Zone(); int64(off)*int64(time.Second) > maxOffset || int64(off)*int64(time.Second) < -maxOffset {
			return fmt.Sprintf("zone %s has offset %ds at %s, beyond ±26h", s.Location, off, what)
		}
	}
	return ""
}
