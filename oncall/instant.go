package oncall

import (
	"math"
	"time"
)

// Internally an instant is an int64 count of nanoseconds since the Unix epoch, and a wall-clock
// (civil) time an int64 count of nanoseconds since 1970-01-01 00:00 of the calendar read as if it
// were UTC: civil arithmetic is then plain addition, and a day always has 24 civil hours.
// Nanoseconds keep every boundary exact (PostgreSQL has microseconds, callers may pass more).

const (
	nsHour = int64(time.Hour)
	nsDay  = 24 * nsHour
	nsWeek = 7 * nsDay

	// maxOffset bounds the UTC offsets the computation believes (real zones stay within
	// -12h..+14h): it keeps every search window finite whatever Location a caller builds.
	maxOffset = 26 * nsHour

	// maxStep bounds a layer's shift (about ten years); Validate rejects longer ones.
	maxStep = 3653 * nsDay

	never = int64(math.MaxInt64) // the end of a zone period or layer that never ends
	ever  = int64(math.MinInt64) // the start of a zone period that began before anything
)

// The model's range. Its width (250 years) keeps every difference of instants and civil times
// well inside an int64 of nanoseconds.
var (
	minTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)
	minNs   = minTime.UnixNano()
	maxNs   = maxTime.UnixNano()

	// The range of time.Time.UnixNano.
	nanoMin = time.Unix(0, math.MinInt64)
	nanoMax = time.Unix(0, math.MaxInt64)
)

// clampNs returns t as an instant saturated into the model's range [minNs, maxNs].
func clampNs(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return minNs
	case t.After(maxTime):
		return maxNs
	}
	return t.UnixNano()
}

// inRange reports whether t lies in the model's range.
func inRange(t time.Time) bool {
	return !t.Before(minTime) && !t.After(maxTime)
}

// boundNs converts a zone period bound, where the zero Time means unbounded, saturating to
// ever/never beyond what an int64 of nanoseconds holds.
func boundNs(t time.Time, unbounded int64) int64 {
	switch {
	case t.IsZero():
		return unbounded
	case t.Before(nanoMin):
		return ever
	case t.After(nanoMax):
		return never
	}
	return t.UnixNano()
}

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// clampInt64 returns v limited to [lo, hi].
func clampInt64(v, lo, hi int64) int64 {
	return min(max(v, lo), hi)
}
