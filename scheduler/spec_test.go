package scheduler

import (
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func at(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseSpecRejects(t *testing.T) {
	now := time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ spec, want string }{
		{"", "empty spec"},
		{"every minute", "cannot parse"},
		{"* * * *", "cannot parse"},
		{"61 * * * *", `minute field "61": 61 is out of range 0-59`},
		// robfig accepts out-of-range steps: */61 would run hourly, */90 in the seconds field every minute.
		{"*/61 * * * *", `minute field "*/61": step 61 is out of range 1-59`},
		{"*/90 * * * * *", `second field "*/90": step 90 is out of range 1-59`},
		{"0 */24 * * *", `hour field "*/24": step 24 is out of range 1-23`},
		{"0 0 */31 * *", `day-of-month field "*/31": step 31 is out of range 1-30`},
		{"0 0 1 */12 *", `month field "*/12": step 12 is out of range 1-11`},
		{"0 0 * * 1-5/7", `day-of-week field "1-5/7": step 7 is out of range 1-6`},
		{"0/0 * * * *", `minute field "0/0": step 0 is out of range 1-59`},
		{"5,*/x * * * *", `minute field "5,*/x": step "x" is not a number`},
		{"0 25 * * *", `hour field "25": 25 is out of range 0-23`},
		{"0 0 0 * *", `day-of-month field "0": 0 is out of range 1-31`},
		{"0 0 * 13 *", `month field "13": 13 is out of range 1-12`},
		{"0 0 * * 7", `day-of-week field "7": 7 is out of range 0-6`},
		{"0 0 * * MON-FUN", `day-of-week field "MON-FUN": "FUN" is not a number`},
		{"0 9-x * * *", `hour field "9-x": "x" is not a number`},
		// robfig/cron v3.0.1 panics inside Parse on this one.
		{"CRON_TZ=Europe/Berlin", "needs a space"},
		{"CRON_TZ=Europe/Berlin ", "needs a space"},
		{"TZ=Europe/Berlin", "needs a space"},
		{"CRON_TZ=Mars/Olympus 0 * * * *", `unknown time zone "Mars/Olympus"`},
		// One zone rule (civil.LoadLocation): never the machine's zone.
		{"CRON_TZ=Local 0 * * * *", `unknown time zone "Local"`},
		// robfig returns a zero Next for it and would silently never run it.
		{"0 0 30 2 *", "never fires"},
		{"@every 500ms", "at least 1s"},
		{"@every 0s", "at least 1s"},
		{"@every -1m", "at least 1s"},
		{"@every soon", "cannot parse"},
		{"@fortnightly", "cannot parse"},
	} {
		_, err := ParseSpec(tc.spec, time.UTC, now)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSpec(%q) error = %v, want it to contain %q", tc.spec, err, tc.want)
		}
	}
}

// The trap the CRON_TZ check exists for: robfig's parser panics on a prefix with no space.
func TestRobfigPanicsOnPrefixWithoutSpace(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("robfig/cron no longer panics; the check in ParseSpec may be simplified")
		}
	}()
	_, _ = parser.Parse("CRON_TZ=Europe/Berlin")
}

func TestUpcomingInBerlin(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	s, err := ParseSpec("*/5 * * * *", berlin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := s.Upcoming(at(t, "2027-01-15T11:02:30Z"), 5)
	want := []string{"2027-01-15T12:05:00+01:00", "2027-01-15T12:10:00+01:00", "2027-01-15T12:15:00+01:00", "2027-01-15T12:20:00+01:00", "2027-01-15T12:25:00+01:00"}
	assertTimes(t, got, want)
	if got[0].Location() != berlin {
		t.Errorf("Upcoming returns %v times, want Europe/Berlin", got[0].Location())
	}
}

func TestPrefixOverridesDefaultZone(t *testing.T) {
	s, err := ParseSpec("CRON_TZ=America/Chicago 0 9 * * *", mustZone(t, "Europe/Berlin"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	assertTimes(t, s.Upcoming(at(t, "2027-01-15T00:00:00Z"), 2), []string{"2027-01-15T09:00:00-06:00", "2027-01-16T09:00:00-06:00"})
}

func TestSecondsFieldAndDescriptors(t *testing.T) {
	from := at(t, "2027-01-15T10:20:30Z")
	for spec, want := range map[string]string{
		"15 * * * * *": "2027-01-15T10:21:15Z",
		"@hourly":      "2027-01-15T11:00:00Z",
		"@daily":       "2027-01-16T00:00:00Z",
		"@weekly":      "2027-01-17T00:00:00Z",
		"@every 30s":   "2027-01-15T10:21:00Z",
		"@every 1m":    "2027-01-15T10:21:00Z",
		"@every 1h":    "2027-01-15T11:00:00Z",
	} {
		s, err := ParseSpec(spec, time.UTC, from)
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		assertTimes(t, s.Upcoming(from, 1), []string{want})
	}
}

// robfig counts @every from process start, so replicas fire at unrelated instants; Spec aligns
// it to the clock.
func TestEveryIsAlignedToTheClock(t *testing.T) {
	raw, _ := parser.Parse("@every 1m")
	start := at(t, "2027-01-15T10:20:17.250Z")
	if got := raw.Next(start); got.Second() == 0 {
		t.Fatalf("robfig @every now aligns (%v); the correction may go", got)
	}
	s, _ := ParseSpec("@every 1m", time.UTC, start)
	assertTimes(t, s.Upcoming(start, 3), []string{"2027-01-15T10:21:00Z", "2027-01-15T10:22:00Z", "2027-01-15T10:23:00Z"})
	// Two replicas started at different moments agree on the firings.
	other := s.Next(at(t, "2027-01-15T10:20:59.900Z"))
	if !other.Equal(at(t, "2027-01-15T10:21:00Z")) {
		t.Fatalf("second replica fires at %v", other)
	}
}

func TestSpringForwardFixedTimeRunsAfterTheGap(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	s, err := ParseSpec("30 2 * * *", berlin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	from := at(t, "2027-03-27T12:00:00+01:00")
	// robfig alone loses the night of 2027-03-28: 02:30 does not exist in Berlin.
	raw := *s.fields
	if got := raw.Next(from); !got.Equal(at(t, "2027-03-29T02:30:00+02:00")) {
		t.Fatalf("robfig Next = %v; the trap has changed", got)
	}
	assertTimes(t, s.Upcoming(from, 3), []string{"2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00", "2027-03-30T02:30:00+02:00"})
}

func TestFallBackFixedTimeRunsOnce(t *testing.T) {
	chicago := mustZone(t, "America/Chicago")
	s, err := ParseSpec("30 1 * * *", chicago, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	from := at(t, "2027-11-06T12:00:00-05:00")
	// robfig alone runs it twice on 2027-11-07: 01:30 CDT and 01:30 CST.
	raw := *s.fields
	first := raw.Next(from)
	if second := raw.Next(first); !second.Equal(at(t, "2027-11-07T01:30:00-06:00")) {
		t.Fatalf("robfig second firing = %v; the trap has changed", second)
	}
	assertTimes(t, s.Upcoming(from, 3), []string{"2027-11-07T01:30:00-05:00", "2027-11-08T01:30:00-06:00", "2027-11-09T01:30:00-06:00"})
}

func TestIntervalSpecKeepsTheClockAcrossDST(t *testing.T) {
	chicago := mustZone(t, "America/Chicago")
	s, _ := ParseSpec("*/30 * * * *", chicago, time.Now())
	assertTimes(t, s.Upcoming(at(t, "2027-11-07T00:45:00-05:00"), 5), []string{
		"2027-11-07T01:00:00-05:00", "2027-11-07T01:30:00-05:00",
		"2027-11-07T01:00:00-06:00", "2027-11-07T01:30:00-06:00", "2027-11-07T02:00:00-06:00",
	})
	spring, _ := ParseSpec("0 * * * *", chicago, time.Now())
	assertTimes(t, spring.Upcoming(at(t, "2027-03-14T00:30:00-06:00"), 3), []string{
		"2027-03-14T01:00:00-06:00", "2027-03-14T03:00:00-05:00", "2027-03-14T04:00:00-05:00",
	})
}

func TestLordHoweHalfHourShift(t *testing.T) {
	lh := mustZone(t, "Australia/Lord_Howe")
	// Lord Howe springs forward from 02:00 to 02:30 on 2027-10-03.
	s, _ := ParseSpec("15 2 * * *", lh, time.Now())
	assertTimes(t, s.Upcoming(at(t, "2027-10-02T12:00:00+10:30"), 2), []string{"2027-10-03T02:30:00+11:00", "2027-10-04T02:15:00+11:00"})
}

func TestDSTNotes(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	from, to := at(t, "2027-01-01T00:00:00Z"), at(t, "2028-01-01T00:00:00Z")
	fixed, _ := ParseSpec("30 2 * * *", berlin, from)
	notes := fixed.DSTNotes(from, to)
	if len(notes) != 2 {
		t.Fatalf("notes = %v, want 2", notes)
	}
	for i, want := range []string{"2027-03-28: 02:30 does not exist", "2027-10-31: 02:30 occurs twice"} {
		if !strings.HasPrefix(notes[i].Text, want) {
			t.Errorf("note %d = %q, want prefix %q", i, notes[i].Text, want)
		}
	}
	if !strings.Contains(notes[0].Text, "runs at 03:00 CEST instead") || !strings.Contains(notes[1].Text, "runs once") {
		t.Errorf("notes do not say what happens: %v", notes)
	}
	quiet, _ := ParseSpec("0 9 * * *", berlin, from)
	if n := quiet.DSTNotes(from, to); len(n) != 0 {
		t.Errorf("09:00 is never touched by DST, notes = %v", n)
	}
	utc, _ := ParseSpec("30 2 * * *", time.UTC, from)
	if n := utc.DSTNotes(from, to); len(n) != 0 {
		t.Errorf("UTC has no DST, notes = %v", n)
	}
	interval, _ := ParseSpec("*/15 * * * *", berlin, from)
	if n := interval.DSTNotes(from, to); len(n) != 2 || !strings.Contains(n[1].Text, "both occurrences") {
		t.Errorf("interval notes = %v", n)
	}
}

func assertTimes(t *testing.T, got []time.Time, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d times %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		w := at(t, want[i])
		if !got[i].Equal(w) {
			t.Errorf("time %d = %s, want %s", i, got[i].Format(time.RFC3339), want[i])
		}
	}
}

// TestDSTAtMidnightAndFarAhead: the rule holds where the change happens at midnight (Santiago:
// the day 2027-09-05 starts at 01:00) and past Go's zone tables, including across the last day
// of a leap year, where Go's ZoneBounds reports a period that ended before the instant asked
// about (the former transition walk stopped there and lost every later note).
func TestDSTAtMidnightAndFarAhead(t *testing.T) {
	santiago := mustZone(t, "America/Santiago")
	midnight, _ := ParseSpec("0 0 * * *", santiago, time.Now())
	assertTimes(t, midnight.Upcoming(at(t, "2027-09-03T12:00:00-04:00"), 3), []string{
		"2027-09-04T00:00:00-04:00", "2027-09-05T01:00:00-03:00", "2027-09-06T00:00:00-03:00",
	})
	notes := midnight.DSTNotes(at(t, "2027-01-01T00:00:00Z"), at(t, "2028-01-01T00:00:00Z"))
	if len(notes) != 1 || !strings.HasPrefix(notes[0].Text, "2027-09-05: 00:00 does not exist (clocks jump from 00:00 to 01:00)") {
		t.Errorf("Santiago notes = %v", notes)
	}
	// 23:30 is repeated on 2027-04-03 (00:00 -03 back to 23:00 -04).
	late, _ := ParseSpec("30 23 * * *", santiago, time.Now())
	assertTimes(t, late.Upcoming(at(t, "2027-04-03T12:00:00-03:00"), 2), []string{"2027-04-03T23:30:00-03:00", "2027-04-04T23:30:00-04:00"})

	berlin := mustZone(t, "Europe/Berlin")
	s, _ := ParseSpec("30 2 * * *", berlin, time.Now())
	notes = s.DSTNotes(at(t, "2040-06-01T00:00:00Z"), at(t, "2041-06-01T00:00:00Z"))
	if len(notes) != 2 || !strings.HasPrefix(notes[0].Text, "2040-10-28: 02:30 occurs twice") || !strings.HasPrefix(notes[1].Text, "2041-03-31: 02:30 does not exist") {
		t.Errorf("notes across 2040-12-31 = %v", notes)
	}
	assertTimes(t, s.Upcoming(at(t, "2199-03-30T12:00:00+01:00"), 2), []string{"2199-03-31T03:00:00+02:00", "2199-04-01T02:30:00+02:00"})
}

// TestFallBackSeveralFiringsInTheRepeatedHour: a fixed spec firing several times in the repeated
// hour fires each once, in the first occurrence.
func TestFallBackSeveralFiringsInTheRepeatedHour(t *testing.T) {
	chicago := mustZone(t, "America/Chicago")
	s, _ := ParseSpec("0,20,40 1 * * *", chicago, time.Now())
	assertTimes(t, s.Upcoming(at(t, "2027-11-07T00:50:00-05:00"), 4), []string{
		"2027-11-07T01:00:00-05:00", "2027-11-07T01:20:00-05:00", "2027-11-07T01:40:00-05:00", "2027-11-08T01:00:00-06:00",
	})
	// From inside the second occurrence, nothing more that night.
	assertTimes(t, s.Upcoming(at(t, "2027-11-07T01:10:00-06:00"), 1), []string{"2027-11-08T01:00:00-06:00"})
}

// The field checks refuse nothing robfig reads right: steps up to the field's span, names,
// lists, ranges and ? in both day fields.
func TestParseSpecAcceptsFieldsInRange(t *testing.T) {
	now := time.Date(2027, 1, 15, 12, 0, 0, 0, time.UTC)
	for _, spec := range []string{
		"*/59 * * * *", "*/30 * * * * *", "0 */23 * * *", "0 0 */30 * *", "0 0 1 */11 *", "0 0 * * */6",
		"0 9-17/2 * * MON-FRI", "0 0 1,15 * *", "0 0 ? * sun", "0 0 1 jan-dec/3 ?", "5-55/10 * * * *",
		"0,30 8-18 * * 1-5", "CRON_TZ=Europe/Berlin 0 2 * * *", "@hourly", "@every 90s",
	} {
		if _, err := ParseSpec(spec, time.UTC, now); err != nil {
			t.Errorf("ParseSpec(%q) = %v", spec, err)
		}
	}
}
