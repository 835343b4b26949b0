// Package oncall answers who is on call for a schedule: at one instant (Schedule.OnCall) and as a
// timeline over a window (Schedule.Shifts). The escalation task pages whoever OnCall names and the
// report task counts hours and gaps from Shifts, so both follow DESIGN.md's rules to the letter:
//
//   - Layers hand off at rotation_start and then every shift_length units of wall-clock time in the
//     schedule's zone (civil arithmetic, so a daily 09:00 handoff stays at 09:00 across DST). A
//     handoff whose wall time falls in a spring-forward gap moves to the first instant after the
//     gap, that day only; one that falls in a fall-back overlap takes the first occurrence: the
//     rule of package civil, whose Zone does every conversion.
//   - A participant who is not one of the schedule's responders (a stale id) keeps its turns,
//     which are empty; an override naming one is ignored.
//   - Restrictions mask a layer outside their daily or weekly wall-clock windows without pausing
//     its rotation.
//   - The highest-priority layer that has someone wins; overrides are then folded over that result
//     from oldest to newest (see Override for the exact rule), so the newest one that applies has
//     the last word.
//
// The model is pure: a Schedule is plain data, its methods read it without mutating it (they are
// safe for concurrent use) and never read the clock. Work is proportional to the number of events
// (handoffs, window edges, override edges) in the window asked for, never to its length in minutes
// nor to how long ago a rotation started.
//
// Answers are exact at every instant of the supported range (civil.MinInstant to
// civil.MaxInstant, 1970 to 2199), which Validate enforces on a schedule's data, and some way
// beyond it (1960 to 2240); further out the timeline is taken to be what it is at the nearest
// edge of that.
//
// Load and LoadMany read schedules from PostgreSQL (tables of sql/migrations/00002_oncall.sql),
// checking what the constraints cannot: zone names, the range of instants, and which responders
// named belong to the schedule's tenant (the others are stale, listed in Schedule.Problems).
package oncall
