package oncall

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ErrInvalid is wrapped by every error of Validate, and so by the per-schedule errors of
// LoadMany for data the model cannot answer for.
var ErrInvalid = errors.New("invalid schedule")

// Validate reports data the model cannot answer for: no Location, an unknown unit, a shift length
// that is not positive or longer than ten years, no participants, a participant or override
// responder missing from Responders, a restriction out of range, an override ending at or
// before its start, duplicate layer priorities, an instant outside 1900..2150, and the like. The
// error names the schedule and every offending layer, restriction and override, and wraps
// ErrInvalid.
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
	for _, id := range l.Participants {
		if _, ok := s.Responders[id]; !ok {
			p = append(p, fmt.Sprintf("participant %d is not one of the schedule's responders", id))
		}
	}
	if msg := s.instantProblem("rotation start", l.RotationStart); msg != "" {
		p = append(p, msg)
	}
	if !l.EndsAt.IsZero() {
		if msg := s.instantProblem("end", l.EndsAt); msg != "" {
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
	if _, ok := s.Responders[o.ResponderID]; !ok {
		p = append(p, fmt.Sprintf("responder %d is not one of the schedule's responders", o.ResponderID))
	}
	if o.ReplacesResponderID != 0 {
		if _, ok := s.Responders[o.ReplacesResponderID]; !ok {
			p = append(p, fmt.Sprintf("replaced responder %d is not one of the schedule's responders", o.ReplacesResponderID))
		}
	}
	if !o.End.After(o.Start) {
		p = append(p, fmt.Sprintf("ends (%s) at or before it starts (%s)", o.End.Format(time.RFC3339), o.Start.Format(time.RFC3339)))
	}
	for _, msg := range []string{s.instantProblem("start", o.Start), s.instantProblem("end", o.End)} {
		if msg != "" {
			p = append(p, msg)
		}
	}
	return p
}

// instantProblem checks an instant of the schedule against the model's range, and the zone's
// offset there against what the computation believes.
func (s *Schedule) instantProblem(what string, t time.Time) string {
	if t.IsZero() {
		return "no " + what
	}
	if !inRange(t) {
		return fmt.Sprintf("%s %s is outside %s..%s", what, t.Format(time.RFC3339), minTime.Format("2006"), maxTime.Format("2006"))
	}
	if s.Location != nil {
		if _, off := t.In(s.Location).Zone(); int64(off)*int64(time.Second) > maxOffset || int64(off)*int64(time.Second) < -maxOffset {
			return fmt.Sprintf("zone %s has offset %ds at %s, beyond ±26h", s.Location, off, what)
		}
	}
	return ""
}
