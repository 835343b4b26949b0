package report_test

import (
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/report"
)

// TestLocalInstant checks the day edges in zones whose DST changes happen at midnight or at the
// hours a report cuts at: every date of 2026-2028 starts at the first instant of that date.
func TestLocalInstant(t *testing.T) {
	for _, name := range []string{"UTC", "America/New_York", "America/Santiago", "America/Havana", "Asia/Beirut",
		"America/Asuncion", "Australia/Lord_Howe", "Europe/Berlin", "Asia/Tokyo", "Pacific/Chatham"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2029; d = d.AddDate(0, 0, 1) {
			got := report.LocalInstant(d.Year(), d.Month(), d.Day(), 0, loc)
			if y, m, dd := got.In(loc).Date(); y != d.Year() || m != d.Month() || dd != d.Day() {
				t.Fatalf("%s %s: starts at %s, another date", name, d.Format(time.DateOnly), got.In(loc))
			}
			if y, m, dd := got.Add(-time.Nanosecond).In(loc).Date(); y == d.Year() && m == d.Month() && dd == d.Day() {
				t.Fatalf("%s %s: starts at %s, but the instant before has the same date", name, d.Format(time.DateOnly), got.In(loc))
			}
		}
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, c := range []struct {
		day, hour int
		month     time.Month
		want      string
	}{
		{14, 2, time.March, "2027-03-14T03:00:00-04:00"},   // skipped: the first instant after the gap
		{7, 1, time.November, "2027-11-07T01:00:00-04:00"}, // twice: the first
		{7, 2, time.November, "2027-11-07T02:00:00-05:00"},
		{7, 8, time.November, "2027-11-07T08:00:00-05:00"},
	} {
		if got := report.LocalInstant(2027, c.month, c.day, c.hour, ny).In(ny).Format(time.RFC3339); got != c.want {
			t.Errorf("2027-%02d-%02d %02d:00 New York = %s, want %s", c.month, c.day, c.hour, got, c.want)
		}
	}
	santiago, _ := time.LoadLocation("America/Santiago")
	// 2027-09-05: clocks jump from 00:00 -04 to 01:00 -03; the day starts at 01:00.
	if got := report.LocalInstant(2027, time.September, 5, 0, santiago).In(santiago).Format(time.RFC3339); got != "2027-09-05T01:00:00-03:00" {
		t.Errorf("Santiago 2027-09-05 starts at %s", got)
	}
}
