package oncall

import "time"

// Unit is the unit of a layer's shift length. Every unit is wall-clock (civil) time in the
// schedule's zone, so a day is 23, 24 or 25 hours long and an hour that is skipped by a DST change
// yields an empty shift.
type Unit string

// The units a layer's shift length may be expressed in.
const (
	Hour Unit = "hour"
	Day  Unit = "day"
	Week Unit = "week"
)

// Responder is a person who can be paged.
type Responder struct {
	ID   int64
	Name string
}

// Restriction is a window of wall-clock time in the schedule's zone in which its layer is active.
// A window may cross midnight and the end of the week; windows of one layer may overlap (their
// union counts). Its end is computed in wall-clock time too: 22:00 for 10h ends at 08:00 local
// even across a DST change.
type Restriction struct {
	StartDay  int           // ISO weekday 1=Monday..7=Sunday for a weekly window; 0 for a daily window
	StartTime time.Duration // since local midnight, in [0, 24h)
	Duration  time.Duration // in [1m, 7*24h]
}

// Layer is one rotation of a schedule. Shift k (k = 0, 1, ...) starts at the k-th handoff and
// belongs to Participants[k mod len(Participants)]. The rotation keeps turning outside the
// layer's restrictions: they only mask it.
type Layer struct {
	ID            int64
	Name          string
	Priority      int // higher wins; unique within a schedule
	RotationStart time.Time
	ShiftLength   int // > 0
	ShiftUnit     Unit
	Participants  []int64       // responder ids, in turn order; repeats allowed; not empty
	EndsAt        time.Time     // zero: never ends
	Restrictions  []Restriction // none: always active
}

// Override puts ResponderID on call during [Start, End). With ReplacesResponderID zero the
// responder takes the whole schedule, even where nobody would be on call; otherwise the responder
// stands in for that one responder whenever that one would be on call.
//
// Overlapping overrides are folded over the layers' result from the oldest to the newest
// (CreatedAt, then ID), so the newest one that applies has the last word. A replacing override
// applies when its replaced responder is who is on call at that point of the fold or is someone
// that person stands in for: so a newer stand-in for Z wins over an older stand-in for Z, a
// stand-in for X applies while an older whole-schedule override puts X on call, and a stand-in
// for Z does not apply while an older whole-schedule override has taken Z's place (Z would not
// be on call then).
type Override struct {
	ID                  int64
	ResponderID         int64
	ReplacesResponderID int64     // 0: the responder takes the whole schedule
	Start, End          time.Time // [Start, End)
	CreatedAt           time.Time
}

// Schedule is everything needed to tell who is on call: its layers, its overrides and the
// responders they name. Its methods do not modify it and are safe for concurrent use.
//
// A participant or override responder id missing from Responders is stale (DESIGN.md: a
// responder deleted while still named): the participant keeps its turns, which are empty, so
// lower layers show through them; an override naming one is ignored. OnCall and Shifts only
// ever name responders of Responders.
type Schedule struct {
	ID         int64
	TenantID   string
	Name       string
	Location   *time.Location
	Layers     []Layer
	Overrides  []Override
	Responders map[int64]Responder // the responders of the tenant the layers and overrides name

	// Problems are what the loader found wrong but answerable, for people (the escalation and
	// report tasks show them): one line per stale id and where it is named, such as `layer 3:
	// participant 42 is not a responder of tenant "t1"; its turns are empty`. Sorted, without
	// duplicates. The model does not read it.
	Problems []string
}

// Shift is one piece of a timeline: Responder is on call during [Start, End), or nobody when it
// is nil (a gap). The shifts of one timeline that have the same responder share one *Responder:
// treat it as read-only.
type Shift struct {
	Start, End time.Time
	Responder  *Responder // nil: nobody on call (a gap)
}
