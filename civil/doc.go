// Package civil is the one implementation of "this wall-clock time in this zone": the rule of
// DESIGN.md that on-call handoffs and restrictions (oncall), cron firings and their DST notes
// (scheduler) and the edges of local days (tasks/report) all follow.
//
// A wall-clock (civil) time names the first instant at which the zone's clock shows it or a
// later reading. On an ordinary day that is its only instant. A reading skipped by a
// spring-forward gap resolves to the first instant after the gap (that day only); one repeated
// by a fall-back resolves to its first occurrence. Go's time.Date does neither: it takes the
// later offset in an overlap and moves a gap time forward by the gap's length.
//
// Two forms: time.Time conveniences (Date, Resolve, Wall, Transitions) for callers
// that convert a handful of times, and Zone, an int64-nanosecond form with a cache of zone
// periods for oncall's hot path, which resolves hundreds of handoffs per computation.
//
// Answers are exact, for every zone of the database, on the supported range of instants
// [MinInstant, MaxInstant): 1970 to 2199. CheckRange guards inputs.
package civil
