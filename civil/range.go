package civil

import (
	"errors"
	"fmt"
	"time"
)

// The supported range of instants, [MinInstant, MaxInstant): 1970-01-01 to 2199-12-31 UTC.
// Every instant opsworker takes in (a CLI flag, a schedule's rotation start, layer end or
// override) must lie in it; inside it every answer is exact, which the tests check on every
// zone transition of the range.
//
// Why these edges: the zone database records offsets only since 1970 (earlier data is
// explicitly out of its scope), so an earlier instant is far more likely a mistake than history.
// Past its tables (2037) Go extends each zone with the zone's own rule, exact for any year; the
// end is bounded by the int64 nanoseconds the resolvers compute in, which end in 2262, and 2200
// leaves room for the longest shift (ten years) plus the walks around it.
var (
	MinInstant = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC) // inclusive
	MaxInstant = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive
)

// ErrOutOfRange is wrapped by CheckRange's errors.
var ErrOutOfRange = errors.New("outside the supported range")

// CheckRange returns nil for an instant in [MinInstant, MaxInstant), and otherwise an error
// wrapping ErrOutOfRange that names the instant and the range, as in "2300-01-01T00:00:00Z is
// outside the supported range 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z".
func CheckRange(t time.Time) error {
	if !t.Before(MinInstant) && t.Before(MaxInstant) {
		return nil
	}
	return fmt.Errorf("%s is %w %s to %s", t.Format(time.RFC3339Nano), ErrOutOfRange,
		MinInstant.Format(time.RFC3339), MaxInstant.Add(-time.Second).Format(time.RFC3339))
}

// The computation range, [ComputeMin, ComputeMax]: every instant is clamped into it (ClampNano)
// before it is computed with. It holds the supported range with room on both sides, so that a
// window touching an edge of the supported range is answered exactly. Its width, 280 years,
// keeps every difference of instants and civil times inside an int64 of nanoseconds (292
// years), and its end leaves room for two of the longest shifts (ten years each, see package
// oncall) and every search window before the int64 range ends in 2262.
var (
	ComputeMin = time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)
	ComputeMax = time.Date(2240, 1, 1, 0, 0, 0, 0, time.UTC)
)

var (
	computeMinNs = ComputeMin.UnixNano()
	computeMaxNs = ComputeMax.UnixNano()
)

// ClampNano returns t as nanoseconds since the Unix epoch, saturated into the computation range:
// the one clamp of instants, shared by the resolvers (oncall) and the zone walks (Transitions).
// Instants outside the supported range are refused where they come in (CheckRange, oncall's
// Validate); the clamp only keeps whatever gets past that finite and free of overflow.
func ClampNano(t time.Time) int64 {
	switch {
	case t.Before(ComputeMin):
		return computeMinNs
	case t.After(ComputeMax):
		return computeMaxNs
	}
	return t.UnixNano()
}
