package oncall

import (
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// Regression tests for issue 9, fault 5: the model clamped to 1900..2150, so an hourly rotation
// showed a 4-hour shift in 2150 and answers beyond were those of 2150.

// TestHourlyShiftsToTheRangeEnd: an hourly two-person rotation started in 2140 has shifts of
// exactly one hour, alternating, every year from 2149 to the end of the supported range.
func TestHourlyShiftsToTheRangeEnd(t *testing.T) {
	for _, zone := range []string{"UTC", "Asia/Kolkata"} {
		loc := zoneOf(t, zone)
		s := &Schedule{ID: 1, Location: loc, Responders: people(), Layers: []Layer{
			{ID: 1, RotationStart: time.Date(2140, 1, 1, 0, 0, 0, 0, loc), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{1, 2}},
		}}
		if err := s.Validate(); err != nil {
			t.Fatal(err)
		}
		for y := 2149; y < 2200; y++ {
			from, to := time.Date(y, 1, 1, 0, 0, 0, 0, loc), time.Date(y+1, 1, 1, 0, 0, 0, 0, loc)
			if y == 2199 {
				to = civil.MaxInstant // Kolkata's new year comes 5h30 earlier
			}
			ss := s.Shifts(from, to)
			checkTimeline(t, ss, from, to)
			for i, sh := range ss {
				d := sh.End.Sub(sh.Start)
				if d != time.Hour && !(i == len(ss)-1 && d < time.Hour) {
					t.Fatalf("%s %d: shift %d [%v, %v) lasts %v", zone, y, i, sh.Start, sh.End, d)
				}
				// Even hours since 2140 are ann's.
				if want := 1 + int64(sh.Start.Sub(s.Layers[0].RotationStart)/time.Hour)%2; who(sh.Responder) != want {
					t.Fatalf("%s %d: shift %d [%v, %v) is %d's, want %d's", zone, y, i, sh.Start, sh.End, who(sh.Responder), want)
				}
			}
		}
	}
}

// TestDailyHandoffsInBerlinToTheRangeEnd: a daily 09:00 rotation keeps 09:00 local every day to
// 2199, DST days included (Go extends the EU rule past its tables).
func TestDailyHandoffsInBerlinToTheRangeEnd(t *testing.T) {
	berlin := zoneOf(t, "Europe/Berlin")
	s := &Schedule{ID: 1, Location: berlin, Responders: people(), Layers: []Layer{
		{ID: 1, RotationStart: time.Date(2140, 1, 1, 9, 0, 0, 0, berlin), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}},
	}}
	from, to := time.Date(2149, 1, 1, 9, 0, 0, 0, berlin), time.Date(2199, 12, 31, 9, 0, 0, 0, berlin)
	ss := s.Shifts(from, to)
	checkTimeline(t, ss, from, to)
	lengths := map[time.Duration]int{}
	for i, sh := range ss {
		if l := sh.Start.In(berlin); l.Hour() != 9 || l.Minute() != 0 {
			t.Fatalf("shift %d starts at %v", i, l)
		}
		lengths[sh.End.Sub(sh.Start)]++
	}
	years := 2199 - 2149
	if lengths[23*time.Hour] != years+1 || lengths[25*time.Hour] != years+1 || len(lengths) != 3 {
		t.Errorf("shift lengths %v, want one 23h and one 25h shift a year", lengths)
	}
}

// TestOnCallAtTheRangeEnd: OnCall answers at the last second of the supported range by the
// rotation, not as at some earlier edge.
func TestOnCallAtTheRangeEnd(t *testing.T) {
	last := time.Date(2199, 12, 31, 23, 59, 59, 0, time.UTC)
	hourly := &Schedule{ID: 1, Location: time.UTC, Responders: people(), Layers: []Layer{
		{ID: 1, RotationStart: civil.MinInstant, ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{1, 2, 3, 4, 5}},
	}}
	want := 1 + int64(last.Sub(civil.MinInstant)/time.Hour)%5
	if r, ok := hourly.OnCall(last); !ok || r.ID != want {
		t.Errorf("hourly rotation since 1970 at %v: %+v, %v; want %d", last, r, ok, want)
	}
	// A daily 09:00 Berlin rotation since 1970: at 00:59:59 local on 2200-01-01 the shift handed
	// off at 09:00 on 2199-12-31 runs, the one of that date's day number.
	berlin := zoneOf(t, "Europe/Berlin")
	daily := &Schedule{ID: 2, Location: berlin, Responders: people(), Layers: []Layer{
		{ID: 1, RotationStart: time.Date(1970, 1, 1, 9, 0, 0, 0, berlin), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}},
	}, Overrides: []Override{
		{ID: 7, ResponderID: 5, Start: time.Date(2199, 12, 31, 23, 59, 59, 500, time.UTC), End: civil.MaxInstant},
	}}
	if err := daily.Validate(); err != nil {
		t.Fatal(err)
	}
	days := int64(time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC).Sub(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
	if r, ok := daily.OnCall(last); !ok || r.ID != 1+days%3 {
		t.Errorf("daily Berlin rotation since 1970 at %v: %+v, %v; want %d", last, r, ok, 1+days%3)
	}
	if r, ok := daily.OnCall(last.Add(500)); !ok || r.ID != 5 {
		t.Errorf("override to the range's end at %v: %+v, %v; want 5", last.Add(500), r, ok)
	}
	ss := daily.Shifts(time.Date(2199, 12, 31, 0, 0, 0, 0, time.UTC), civil.MaxInstant)
	if n := len(ss); n != 3 || who(ss[2].Responder) != 5 || !ss[2].End.Equal(civil.MaxInstant) || who(ss[1].Responder) != 1+days%3 || !ss[1].Start.Equal(time.Date(2199, 12, 31, 9, 0, 0, 0, berlin)) {
		t.Errorf("last shifts of the range:\n%s", formatShifts(ss))
	}
}

// TestValidateRange: every instant of a schedule's data must lie in the supported range; an
// exclusive end may be the range's end itself.
func TestValidateRange(t *testing.T) {
	ok := func() *Schedule {
		return &Schedule{ID: 3, Location: time.UTC, Responders: people(),
			Layers:    []Layer{{ID: 1, RotationStart: civil.MinInstant, ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1}, EndsAt: civil.MaxInstant}},
			Overrides: []Override{{ID: 2, ResponderID: 2, Start: civil.MaxInstant.Add(-time.Hour), End: civil.MaxInstant}},
		}
	}
	if err := ok().Validate(); err != nil {
		t.Fatalf("edges of the range: %v", err)
	}
	const outside = "is outside the supported range 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z"
	for _, c := range []struct {
		name string
		edit func(*Schedule)
		want string
	}{
		{"rotation start before 1970", func(s *Schedule) { s.Layers[0].RotationStart = civil.MinInstant.Add(-time.Second) }, "layer 1: rotation start 1969-12-31T23:59:59Z " + outside},
		{"rotation start at the end", func(s *Schedule) { s.Layers[0].RotationStart = civil.MaxInstant }, "layer 1: rotation start 2200-01-01T00:00:00Z " + outside},
		{"layer end after 2199", func(s *Schedule) { s.Layers[0].EndsAt = civil.MaxInstant.Add(time.Nanosecond) }, "layer 1: end 2200-01-01T00:00:00.000000001Z " + outside},
		{"layer end in 9999", func(s *Schedule) { s.Layers[0].EndsAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }, "layer 1: end 9999-12-31T00:00:00Z " + outside},
		{"override start before 1970", func(s *Schedule) { s.Overrides[0].Start = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC) }, "override 2: start 1969-01-01T00:00:00Z " + outside},
		{"override end after 2199", func(s *Schedule) { s.Overrides[0].End = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }, "override 2: end 2300-01-01T00:00:00Z " + outside},
	} {
		s := ok()
		c.edit(s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
