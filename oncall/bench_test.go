package oncall

import (
	"testing"
	"time"
)

// benchSchedule is a busy Europe/Berlin schedule: a weekly layer under an hourly one under a
// 12-hour layer restricted to weekday business hours, and 50 overrides (whole-schedule and
// stand-ins, some overlapping) over the month from 2027-03-15, which spans a DST change.
func benchSchedule(b testing.TB) *Schedule {
	loc := zoneOf(b, "Europe/Berlin")
	s := &Schedule{ID: 1, TenantID: "bench", Name: "bench", Location: loc, Responders: map[int64]Responder{}}
	for id := int64(1); id <= 10; id++ {
		s.Responders[id] = Responder{ID: id, Name: "r"}
	}
	weekdays := make([]Restriction, 5)
	for d := range weekdays {
		weekdays[d] = Restriction{StartDay: d + 1, StartTime: 8 * time.Hour, Duration: 10 * time.Hour}
	}
	s.Layers = []Layer{
		{ID: 1, Priority: 1, RotationStart: time.Date(2025, 1, 6, 9, 0, 0, 0, loc), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{1, 2, 3, 4}},
		{ID: 2, Priority: 2, RotationStart: time.Date(2026, 6, 1, 0, 0, 0, 0, loc), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{5, 6, 7}},
		{ID: 3, Priority: 3, RotationStart: time.Date(2026, 1, 5, 8, 0, 0, 0, loc), ShiftLength: 12, ShiftUnit: Hour, Participants: []int64{8, 9, 10, 1}, Restrictions: weekdays},
	}
	start := time.Date(2027, 3, 15, 0, 0, 0, 0, loc)
	for i := range 50 {
		o := Override{
			ID:          int64(100 + i),
			ResponderID: int64(1 + i%10),
			Start:       start.Add(time.Duration(i*14+i%5) * time.Hour),
			CreatedAt:   start.Add(-time.Duration((i*7)%50) * time.Hour),
		}
		o.End = o.Start.Add(time.Duration(1+i%12) * time.Hour)
		if i%2 == 1 {
			o.ReplacesResponderID = int64(1 + (i*3)%10)
		}
		s.Overrides = append(s.Overrides, o)
	}
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkOnCall(b *testing.B) {
	s := benchSchedule(b)
	t := time.Date(2027, 3, 31, 10, 30, 0, 0, s.Location)
	b.ReportAllocs()
	for b.Loop() {
		s.OnCall(t)
	}
}

func BenchmarkShifts31Days(b *testing.B) {
	s := benchSchedule(b)
	from := time.Date(2027, 3, 15, 0, 0, 0, 0, s.Location)
	to := from.AddDate(0, 0, 31)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(s.Shifts(from, to))
	}
	b.ReportMetric(float64(n), "shifts")
}
