// Package oncall answers who is on call for a schedule: at one instant (Schedule.OnCall) and as a
// timeline over a window (Schedule.Shifts). The escalation task pages whoever OnCall names and the
// report task counts hours and gaps from Shifts, so both follow DESIGN.md's rules to the letter:
//
//   - Layers hand off at rotation_start and then every shift_length units of wall-clock time in the
//     schedule's zone (civil arithmetic, so a daily 09:00 handoff stays at 09:00 across DST). A
//     handoff whose wall time falls in a spring-forward gap moves to the first instant after the
//     gap, that day only; one that falls in a fall-back overlap takes the first occurrence.
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
// The model covers instants from 1900-01-01 to 2150-01-01 UTC (see Validate). Outside that range
// the timeline is taken to be what it is at the nearest edge of it.
//
// Load and LoadMany read schedules from PostgreSQL (tables of sql/migrations/00002_oncall.sql),
// checking what the constraints cannot: zone names and that every responder named belongs to the
// schedule's tenant.
package oncall
