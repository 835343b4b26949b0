package civil_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed

	"github.com/opsworker/opsworker/civil"
)

// Every expected instant in this file is a literal computed by hand from the zone rules, never
// by the code under test: EU: last Sunday of March and of October at 01:00Z; US: second Sunday
// of March and first of November at 02:00 local; Sydney: first Sunday of October 02:00 AEST and
// of April 03:00 AEDT; Lord Howe: +10:30/+11, changing at 02:00 local on the same Sundays;
// Santiago: first Sunday of April 03:00Z (00:00 -03 back to 23:00 -04) and first Sunday of
// September from the 2nd at 04:00Z (00:00 -04 to 01:00 -03); Havana: second Sunday of March
// 00:00 -> 01:00 and first Sunday of November 01:00 -> 00:00.

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDate(t *testing.T) {
	for _, c := range []struct {
		zone, wall, want, why string
	}{
		{"Europe/Berlin", "2027-07-01T12:00:00", "2027-07-01T12:00:00+02:00", "ordinary"},
		{"Europe/Berlin", "2027-01-15T00:00:00", "2027-01-15T00:00:00+01:00", "ordinary midnight"},
		{"Europe/Berlin", "2027-03-28T01:59:59", "2027-03-28T01:59:59+01:00", "just before the gap"},
		{"Europe/Berlin", "2027-03-28T02:00:00", "2027-03-28T03:00:00+02:00", "gap: first instant after it"},
		{"Europe/Berlin", "2027-03-28T02:30:00", "2027-03-28T03:00:00+02:00", "gap"},
		{"Europe/Berlin", "2027-03-28T03:00:00", "2027-03-28T03:00:00+02:00", "just after the gap"},
		{"Europe/Berlin", "2027-10-31T02:00:00", "2027-10-31T02:00:00+02:00", "fold: first occurrence"},
		{"Europe/Berlin", "2027-10-31T02:30:00", "2027-10-31T02:30:00+02:00", "fold"},
		{"Europe/Berlin", "2027-10-31T02:59:59.999999999", "2027-10-31T02:59:59.999999999+02:00", "fold, last nanosecond"},
		{"Europe/Berlin", "2027-10-31T03:00:00", "2027-10-31T03:00:00+01:00", "after the fold"},
		{"Europe/Berlin", "2199-03-31T02:30:00", "2199-03-31T03:00:00+02:00", "gap in 2199, from the zone's rule"},
		{"Europe/Berlin", "2199-10-27T02:30:00", "2199-10-27T02:30:00+02:00", "fold in 2199"},
		{"America/Chicago", "2027-03-14T02:30:00", "2027-03-14T03:00:00-05:00", "gap"},
		{"America/Chicago", "2027-11-07T01:00:00", "2027-11-07T01:00:00-05:00", "fold: first occurrence"},
		{"America/Chicago", "2027-11-07T01:30:00", "2027-11-07T01:30:00-05:00", "fold"},
		{"America/Chicago", "2027-11-07T02:00:00", "2027-11-07T02:00:00-06:00", "after the fold"},
		{"America/Chicago", "2027-06-01T09:00:00", "2027-06-01T09:00:00-05:00", "ordinary"},
		{"America/New_York", "2027-03-14T02:00:00", "2027-03-14T03:00:00-04:00", "gap"},
		{"America/New_York", "2027-11-07T01:00:00", "2027-11-07T01:00:00-04:00", "fold"},
		{"America/New_York", "2027-11-07T02:00:00", "2027-11-07T02:00:00-05:00", "after the fold"},
		{"America/New_York", "2027-11-07T08:00:00", "2027-11-07T08:00:00-05:00", "ordinary"},
		{"Australia/Lord_Howe", "2027-10-03T02:00:00", "2027-10-03T02:30:00+11:00", "30-minute gap"},
		{"Australia/Lord_Howe", "2027-10-03T02:15:00", "2027-10-03T02:30:00+11:00", "30-minute gap"},
		{"Australia/Lord_Howe", "2027-10-03T02:30:00", "2027-10-03T02:30:00+11:00", "after the gap"},
		{"Australia/Lord_Howe", "2027-04-04T01:30:00", "2027-04-04T01:30:00+11:00", "30-minute fold"},
		{"Australia/Lord_Howe", "2027-04-04T01:45:00", "2027-04-04T01:45:00+11:00", "30-minute fold"},
		{"Australia/Lord_Howe", "2027-04-04T02:00:00", "2027-04-04T02:00:00+10:30", "after the fold"},
		{"Australia/Sydney", "2027-10-03T02:30:00", "2027-10-03T03:00:00+11:00", "gap"},
		{"Australia/Sydney", "2027-04-04T02:30:00", "2027-04-04T02:30:00+11:00", "fold"},
		{"Australia/Sydney", "2027-04-04T03:00:00", "2027-04-04T03:00:00+10:00", "after the fold"},
		{"Australia/Sydney", "2027-12-25T09:00:00", "2027-12-25T09:00:00+11:00", "ordinary (summer)"},
		{"Asia/Kolkata", "2027-03-28T02:30:00", "2027-03-28T02:30:00+05:30", "no DST"},
		{"Asia/Kolkata", "2199-12-31T23:59:59", "2199-12-31T23:59:59+05:30", "no DST, range end"},
		{"America/Santiago", "2027-09-05T00:00:00", "2027-09-05T01:00:00-03:00", "midnight gap: the day starts at 01:00"},
		{"America/Santiago", "2027-09-05T00:30:00", "2027-09-05T01:00:00-03:00", "midnight gap"},
		{"America/Santiago", "2027-09-04T23:59:00", "2027-09-04T23:59:00-04:00", "before the midnight gap"},
		{"America/Santiago", "2027-04-03T23:30:00", "2027-04-03T23:30:00-03:00", "fold before midnight: first"},
		{"America/Santiago", "2027-04-04T00:00:00", "2027-04-04T00:00:00-04:00", "after the fold"},
		{"America/Havana", "2027-03-14T00:00:00", "2027-03-14T01:00:00-04:00", "midnight gap"},
		{"America/Havana", "2027-11-07T00:30:00", "2027-11-07T00:30:00-04:00", "fold after midnight: first"},
		{"America/Havana", "2027-11-07T01:00:00", "2027-11-07T01:00:00-05:00", "after the fold"},
		{"UTC", "2199-12-31T23:59:59", "2199-12-31T23:59:59Z", "UTC"},
	} {
		loc := zone(t, c.zone)
		w := at(t, c.wall+"Z")
		want := at(t, c.want)
		got := civil.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
		if !got.Equal(want) || got.Location() != loc {
			t.Errorf("%s %s (%s) = %s in %v, want %s", c.zone, c.wall, c.why, got.Format(time.RFC3339Nano), got.Location(), c.want)
		}
		// The same reading held in a time.Time of another zone resolves the same way.
		if got := civil.Resolve(loc, time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), zone(t, "Asia/Tokyo"))); !got.Equal(want) {
			t.Errorf("Resolve(%s, %s) = %s, want %s", c.zone, c.wall, got.Format(time.RFC3339Nano), c.want)
		}
		// Wall reads the clock back: the same reading, except in a gap (the first one after it).
		if got, ok := civil.Wall(want), want.In(loc); !got.Equal(time.Date(ok.Year(), ok.Month(), ok.Day(), ok.Hour(), ok.Minute(), ok.Second(), ok.Nanosecond(), time.UTC)) {
			t.Errorf("Wall(%s) = %s", c.want, got)
		}
	}
}

func TestDateNormalisesLikeTimeDate(t *testing.T) {
	berlin := zone(t, "Europe/Berlin")
	if got := civil.Date(2027, time.February, 29, 24, 90, 0, 0, berlin); !got.Equal(at(t, "2027-03-02T01:30:00+01:00")) {
		t.Errorf("2027-02-29 24:90 = %s", got)
	}
	if got := civil.Date(2027, 7, 1, 9, 0, 0, 0, nil); !got.Equal(at(t, "2027-07-01T09:00:00Z")) {
		t.Errorf("nil zone: %s", got)
	}
	// Far outside the range the Zone handles: time.Date's answer, no panic.
	if got := civil.Date(9999, 12, 31, 23, 0, 0, 0, berlin); !got.Equal(time.Date(9999, 12, 31, 23, 0, 0, 0, berlin)) {
		t.Errorf("9999: %s", got)
	}
	if got := civil.Date(1, 1, 1, 0, 0, 0, 0, berlin); !got.Equal(time.Date(1, 1, 1, 0, 0, 0, 0, berlin)) {
		t.Errorf("year 1: %s", got)
	}
}

// lastSunday is the day of the month of the last Sunday of month in year, by the calendar alone.
func lastSunday(year int, month time.Month) int {
	d := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC)
	return d.Day() - int(d.Weekday())
}

func TestTransitions(t *testing.T) {
	type tr struct {
		at            string
		before, after time.Duration
	}
	h := time.Hour
	for _, c := range []struct {
		zone, from, to string
		want           []tr
	}{
		{"Europe/Berlin", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-03-28T01:00:00Z", h, 2 * h}, {"2027-10-31T01:00:00Z", 2 * h, h}}},
		// (from, to]: a change at from is left out, one at to is in.
		{"Europe/Berlin", "2027-03-28T01:00:00Z", "2027-10-31T01:00:00Z", []tr{{"2027-10-31T01:00:00Z", 2 * h, h}}},
		{"America/Chicago", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-03-14T08:00:00Z", -6 * h, -5 * h}, {"2027-11-07T07:00:00Z", -5 * h, -6 * h}}},
		{"America/New_York", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-03-14T07:00:00Z", -5 * h, -4 * h}, {"2027-11-07T06:00:00Z", -4 * h, -5 * h}}},
		{"Australia/Lord_Howe", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-04-03T15:00:00Z", 11 * h, 10*h + 30*time.Minute}, {"2027-10-02T15:30:00Z", 10*h + 30*time.Minute, 11 * h}}},
		{"Australia/Sydney", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-04-03T16:00:00Z", 11 * h, 10 * h}, {"2027-10-02T16:00:00Z", 10 * h, 11 * h}}},
		{"America/Santiago", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-04-04T03:00:00Z", -3 * h, -4 * h}, {"2027-09-05T04:00:00Z", -4 * h, -3 * h}}},
		{"America/Havana", "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", []tr{{"2027-03-14T05:00:00Z", -5 * h, -4 * h}, {"2027-11-07T05:00:00Z", -4 * h, -5 * h}}},
		{"Asia/Kolkata", "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", nil},
		{"UTC", "1970-01-01T00:00:00Z", "2200-01-01T00:00:00Z", nil},
		// Across 2040-12-31, where Go's ZoneBounds reports a period ending before the instant.
		{"Europe/Berlin", "2040-06-01T00:00:00Z", "2041-06-01T00:00:00Z", []tr{{"2040-10-28T01:00:00Z", 2 * h, h}, {"2041-03-31T01:00:00Z", h, 2 * h}}},
		// 2197-04-02 is the first Sunday of April: 03:00 AEDT is 16:00Z the day before.
		{"Australia/Sydney", "2196-12-01T00:00:00Z", "2197-06-01T00:00:00Z", []tr{{"2197-04-01T16:00:00Z", 11 * h, 10 * h}}},
	} {
		got := civil.Transitions(zone(t, c.zone), at(t, c.from), at(t, c.to))
		ok := len(got) == len(c.want)
		for i := 0; ok && i < len(got); i++ {
			w := c.want[i]
			ok = got[i].At.Equal(at(t, w.at)) && got[i].Before == w.before && got[i].After == w.after && got[i].Jump() == w.after-w.before
		}
		if !ok {
			t.Errorf("Transitions(%s, %s, %s) = %v, want %v", c.zone, c.from, c.to, got, c.want)
		}
	}

	// The EU rule every year to the end of the range: two changes, on the last Sundays of March
	// and October at 01:00Z, the clock jumping 02:00 -> 03:00 and 03:00 -> 02:00.
	berlin := zone(t, "Europe/Berlin")
	all := civil.Transitions(berlin, at(t, "1996-01-01T00:00:00Z"), civil.MaxInstant)
	if len(all) != 2*(2200-1996) {
		t.Fatalf("%d Berlin transitions 1996-2199, want %d", len(all), 2*(2200-1996))
	}
	for i, tr := range all {
		y := 1996 + i/2
		month, wb, wa := time.March, "02:00", "03:00"
		if i%2 == 1 {
			month, wb, wa = time.October, "03:00", "02:00"
		}
		want := time.Date(y, month, lastSunday(y, month), 1, 0, 0, 0, time.UTC)
		if !tr.At.Equal(want) || tr.WallBefore().Format("15:04") != wb || tr.WallAfter().Format("15:04") != wa || tr.At.Location() != berlin {
			t.Fatalf("transition %d = %v (%s -> %s), want %v (%s -> %s)", i, tr.At, tr.WallBefore().Format("15:04"), tr.WallAfter().Format("15:04"), want, wb, wa)
		}
	}
}

func TestCheckRange(t *testing.T) {
	for _, ok := range []string{"1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999999999Z", "2027-05-01T10:00:00+02:00", "1970-01-01T01:00:00+01:00"} {
		if err := civil.CheckRange(at(t, ok)); err != nil {
			t.Errorf("CheckRange(%s) = %v", ok, err)
		}
	}
	for _, bad := range []string{"1969-12-31T23:59:59.999999999Z", "2200-01-01T00:00:00Z", "2300-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:30:00+01:00"} {
		err := civil.CheckRange(at(t, bad))
		if err == nil || !errors.Is(err, civil.ErrOutOfRange) {
			t.Errorf("CheckRange(%s) = %v", bad, err)
			continue
		}
		if want := bad + " is outside the supported range 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z"; err.Error() != want {
			t.Errorf("CheckRange(%s) = %q, want %q", bad, err, want)
		}
	}
	if err := civil.CheckRange(time.Time{}); err == nil || !strings.HasPrefix(err.Error(), "0001-01-01T00:00:00Z is outside") {
		t.Errorf("CheckRange(zero) = %v", err)
	}
	if !civil.MinInstant.Equal(at(t, "1970-01-01T00:00:00Z")) || !civil.MaxInstant.Equal(at(t, "2200-01-01T00:00:00Z")) {
		t.Errorf("range = [%v, %v)", civil.MinInstant, civil.MaxInstant)
	}
}

// ClampNano is the one clamp of instants: the identity inside the computation range (which holds
// the supported range), its edges beyond it, whatever the instant.
func TestClampNano(t *testing.T) {
	if !civil.ComputeMin.Before(civil.MinInstant) || !civil.ComputeMax.After(civil.MaxInstant) {
		t.Fatalf("computation range [%v, %v] does not hold the supported range", civil.ComputeMin, civil.ComputeMax)
	}
	for _, in := range []time.Time{civil.MinInstant, civil.MaxInstant, at(t, "2027-03-28T01:30:00.123456789Z"), civil.ComputeMin, civil.ComputeMax} {
		if got := civil.ClampNano(in); got != in.UnixNano() {
			t.Errorf("ClampNano(%v) = %d, want %d", in, got, in.UnixNano())
		}
	}
	for _, c := range []struct {
		in   time.Time
		want time.Time
	}{
		{time.Time{}, civil.ComputeMin},
		{at(t, "1959-12-31T23:59:59.999999999Z"), civil.ComputeMin},
		{at(t, "2240-01-01T00:00:00.000000001Z"), civil.ComputeMax},
		{at(t, "9999-12-31T23:59:59Z"), civil.ComputeMax},
	} {
		if got := civil.ClampNano(c.in); got != c.want.UnixNano() {
			t.Errorf("ClampNano(%v) = %v, want %v", c.in, time.Unix(0, got).UTC(), c.want)
		}
	}
}

// One zone rule for CRON_TZ, spec prefixes, tenants and schedules: IANA names only, never the
// machine's zone nor the empty name.
func TestLoadLocation(t *testing.T) {
	for _, ok := range []string{"UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5"} {
		loc, err := civil.LoadLocation(ok)
		if err != nil || loc.String() != ok {
			t.Errorf("LoadLocation(%q) = %v, %v", ok, loc, err)
		}
		if again, _ := civil.LoadLocation(ok); again != loc {
			t.Errorf("LoadLocation(%q) is not cached", ok)
		}
	}
	for _, bad := range []string{"", " ", "Local", "Mars/Olympus", "utc/../UTC", "../etc/passwd"} {
		_, err := civil.LoadLocation(bad)
		if !errors.Is(err, civil.ErrUnknownZone) || !strings.Contains(err.Error(), "name an IANA time zone") {
			t.Errorf("LoadLocation(%q) = %v, want an unknown time zone error", bad, err)
		}
	}
	if _, err := civil.LoadLocation("Local"); !strings.Contains(err.Error(), "machine's zone") {
		t.Errorf("Local: %v", err)
	}
}
