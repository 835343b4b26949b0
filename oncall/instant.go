package oncall

import (
	"math"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// Internally an instant is an int64 count of nanoseconds since the Unix epoch, and a wall-clock
// (civil) time an int64 count of nanoseconds since 1970-01-01 00:00 of the calendar read as if it
// were UTC (civil.Zone's forms): civil arithmetic is then plain addition, and a day always has 24
// civil hours. Nanoseconds keep every boundary exact (PostgreSQL has microseconds, callers may
// pass more).

const (
	nsHour = int64(time.Hour)
	nsDay  = 24 * nsHour
	nsWeek = 7 * nsDay

	// maxOffset bounds the UTC offsets the computation believes (civil.Zone clamps to it).
	maxOffset = int64(civil.MaxOffset)

	// maxStep bounds a layer's shift (about ten years); Validate rejects longer ones.
	maxStep = 3653 * nsDay

	never = int64(math.MaxInt64) // the end of a layer that never ends
)

// The model's range, into which every instant is clamped before it is computed with. It holds
// the supported range (civil.MinInstant to civil.MaxInstant, which Validate enforces on the
// schedule's data) with room on both sides, so that a window touching an edge of the supported
// range is answered exactly. Its width, 280 years, keeps every difference of instants and civil
// times inside an int64 of nanoseconds (292 years), and its end leaves room for two of the
// longest shifts before the int64 range ends in 2262.
var (
	minTime = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2240, 1, 1, 0, 0, 0, 0, time.UTC)
	minNs   = minTime.UnixNano()
	maxNs   = maxTime.UnixNano()
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

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
