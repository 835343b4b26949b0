package oncall

import (
	"testing"
	"time"
)

// Shift lengths read like people write them.
func TestLength(t *testing.T) {
	for d, want := range map[time.Duration]string{
		23 * time.Hour:                     "23h",
		25 * time.Hour:                     "25h",
		90 * time.Minute:                   "1h30m",
		45 * time.Minute:                   "45m",
		time.Hour + 30*time.Second:         "1h0m30s",
		1992260148342500 * time.Nanosecond: "553h24m20s",
		0:                                  "0s",
	} {
		if got := Length(d); got != want {
			t.Errorf("Length(%v) = %q, want %q", d, got, want)
		}
	}
}
