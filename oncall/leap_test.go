package oncall

import "testing"

// TestLeapYearEndPastTables covers Go's ZoneBounds reporting, on the last day of a leap year
// past the zone tables, a period that ends before the instant asked about (see civil.Zone).
func TestLeapYearEndPastTables(t *testing.T) {
	runTable(t, []tableCase{
		{
			name:   "Berlin hourly through 2040-12-31",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2040-12-30T00:00:00+01:00"), ShiftLength: 6, ShiftUnit: Hour, Participants: []int64{1, 2}}},
			from:   "2040-12-30T22:00:00+01:00", to: "2041-01-01T07:00:00+01:00",
			want: []piece{
				{"2040-12-30T22:00:00+01:00", "2040-12-31T00:00:00+01:00", 2},
				{"2040-12-31T00:00:00+01:00", "2040-12-31T06:00:00+01:00", 1},
				{"2040-12-31T06:00:00+01:00", "2040-12-31T12:00:00+01:00", 2},
				{"2040-12-31T12:00:00+01:00", "2040-12-31T18:00:00+01:00", 1},
				{"2040-12-31T18:00:00+01:00", "2041-01-01T00:00:00+01:00", 2},
				{"2041-01-01T00:00:00+01:00", "2041-01-01T06:00:00+01:00", 1},
				{"2041-01-01T06:00:00+01:00", "2041-01-01T07:00:00+01:00", 2},
			},
		},
		{
			name:   "Sydney (in DST at the year's turn) daily through 2044-12-31",
			zone:   "Australia/Sydney",
			layers: []Layer{{RotationStart: at(t, "2044-12-29T09:00:00+11:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}}},
			from:   "2044-12-30T12:00:00+11:00", to: "2045-01-02T00:00:00+11:00",
			want: []piece{
				{"2044-12-30T12:00:00+11:00", "2044-12-31T09:00:00+11:00", 2},
				{"2044-12-31T09:00:00+11:00", "2045-01-01T09:00:00+11:00", 3},
				{"2045-01-01T09:00:00+11:00", "2045-01-02T00:00:00+11:00", 1},
			},
		},
	})
}
