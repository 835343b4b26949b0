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

// The model computes on civil's computation range (civil.ComputeMin to civil.ComputeMax): every
// instant is clamped into it with civil.ClampNano before it is computed with. maxNs is its end.
var maxNs = civil.ComputeMax.UnixNano()

// floorDiv is a/b rounded towards minus infinity, for b > 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
