package oncall

import (
	"fmt"
	"strings"
	"time"
)

// The JSON shapes of opsworker's on-call answers, shared by `opsworker oncall --json` and the
// console's API so that both print exactly what DESIGN.md and the README document:
//
//	{"schedule_id":N,"at":T,"on_call":[{"id":N,"name":S}]}
//	{"schedule_id":N,"shifts":[{"start":T,"end":T,"responder":{"id":N,"name":S}|null}]}
//
// Times are in the schedule's zone.
type (
	// NamedResponder is a responder as an answer names them.
	NamedResponder struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	// OnCallAt answers who is on call at one instant: nobody (an empty list, never null) or one
	// responder.
	OnCallAt struct {
		ScheduleID int64            `json:"schedule_id"`
		At         time.Time        `json:"at"`
		OnCall     []NamedResponder `json:"on_call"`
	}
	// NamedShift is one shift of ShiftsBetween; a nil Responder is a gap (JSON null).
	NamedShift struct {
		Start     time.Time       `json:"start"`
		End       time.Time       `json:"end"`
		Responder *NamedResponder `json:"responder"`
	}
	// ShiftsBetween is the timeline over a window, as Shifts computes it: consecutive shifts of
	// one responder merged, gaps included.
	ShiftsBetween struct {
		ScheduleID int64        `json:"schedule_id"`
		Shifts     []NamedShift `json:"shifts"`
	}
)

// AnswerAt returns who is on call at t, in the JSON shape.
func (s *Schedule) AnswerAt(t time.Time) OnCallAt {
	out := OnCallAt{ScheduleID: s.ID, At: t.In(s.location()), OnCall: []NamedResponder{}}
	if r, ok := s.OnCall(t); ok {
		out.OnCall = append(out.OnCall, NamedResponder{ID: r.ID, Name: r.Name})
	}
	return out
}

// AnswerShifts returns the timeline over [from, to), in the JSON shape.
func (s *Schedule) AnswerShifts(from, to time.Time) ShiftsBetween {
	shifts := s.Shifts(from, to)
	out := ShiftsBetween{ScheduleID: s.ID, Shifts: make([]NamedShift, 0, len(shifts))}
	for _, sh := range shifts {
		var r *NamedResponder
		if sh.Responder != nil {
			r = &NamedResponder{ID: sh.Responder.ID, Name: sh.Responder.Name}
		}
		out.Shifts = append(out.Shifts, NamedShift{Start: sh.Start, End: sh.End, Responder: r})
	}
	return out
}

// Length prints a shift's length the way people write it: 23h, 1h30m, 45m, 1h0m30s; never a
// fraction of an hour. `opsworker oncall --until` and the console print shifts with it.
func Length(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	h, m, sec := d/time.Hour, (d%time.Hour)/time.Minute, (d%time.Minute)/time.Second
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 || (h > 0 && sec > 0) {
		fmt.Fprintf(&b, "%dm", m)
	}
	if sec > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", sec)
	}
	return b.String()
}
