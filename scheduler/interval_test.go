package scheduler

import (
	"testing"
	"time"
)

func TestLongestInterval(t *testing.T) {
	from := time.Date(2027, 5, 5, 10, 0, 0, 0, time.UTC)
	for spec, want := range map[string]time.Duration{
		"@every 1m":                        time.Minute,
		"@every 90s":                       90 * time.Second,
		"*/5 * * * *":                      5 * time.Minute,
		"@daily":                           24 * time.Hour,
		"0 9 * * 1-5":                      72 * time.Hour, // Friday to Monday
		"0 0 1 * *":                        31 * 24 * time.Hour,
		"0 0 29 2 *":                       1461 * 24 * time.Hour, // 2028 to 2032
		"CRON_TZ=Europe/Berlin 30 2 * * *": 25 * time.Hour,        // the fall-back night
	} {
		s, err := ParseSpec(spec, time.UTC, from)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.LongestInterval(from); got != want {
			t.Errorf("%s: %v, want %v", spec, got, want)
		}
	}
}
