package oncall

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones below, whatever the machine has installed
)

// Every expected instant in this file is a literal computed by hand from the zone rules
// (EU: last Sunday of March 01:00Z and of October 01:00Z; US: second Sunday of March and first
// of November at 02:00 local; Sydney: first Sunday of October 02:00 AEST and of April 03:00
// AEDT; Lord Howe: +10:30/+11, changing at 02:00 local on the same Sundays), never by the code
// under test.

func zoneOf(t testing.TB, name string) *time.Location {
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

// people are the responders of every hand-written schedule.
func people() map[int64]Responder {
	m := map[int64]Responder{}
	for i, n := range []string{"ann", "bob", "cat", "dan", "eve"} {
		m[int64(i+1)] = Responder{ID: int64(i + 1), Name: n}
	}
	return m
}

// piece is an expected shift: who 0 is a gap.
type piece struct {
	start, end string
	who        int64
}

// point is an expected answer of OnCall: who 0 is nobody.
type point struct {
	at  string
	who int64
}

type tableCase struct {
	name     string
	zone     string
	layers   []Layer
	ovs      []Override
	from, to string
	want     []piece
	points   []point
}

func (c tableCase) schedule(t testing.TB) *Schedule {
	s := &Schedule{ID: 1, TenantID: "t", Name: c.name, Location: zoneOf(t, c.zone), Layers: c.layers, Overrides: c.ovs, Responders: people()}
	for i := range s.Layers {
		if s.Layers[i].ID == 0 {
			s.Layers[i].ID = int64(i + 1)
		}
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("invalid test schedule: %v", err)
	}
	return s
}

func formatShifts(ss []Shift) string {
	var b strings.Builder
	for _, s := range ss {
		who := int64(0)
		if s.Responder != nil {
			who = s.Responder.ID
		}
		fmt.Fprintf(&b, "  [%s, %s) %d\n", s.Start.Format(time.RFC3339Nano), s.End.Format(time.RFC3339Nano), who)
	}
	return b.String()
}

func runTable(t *testing.T, cases []tableCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.schedule(t)
			got := s.Shifts(at(t, c.from), at(t, c.to))
			ok := len(got) == len(c.want)
			for i := 0; ok && i < len(got); i++ {
				w := c.want[i]
				who := int64(0)
				if got[i].Responder != nil {
					who = got[i].Responder.ID
					if got[i].Responder.Name != people()[who].Name {
						t.Errorf("shift %d: responder %+v lacks its name", i, *got[i].Responder)
					}
				}
				ok = got[i].Start.Equal(at(t, w.start)) && got[i].End.Equal(at(t, w.end)) && who == w.who
			}
			if !ok {
				var b strings.Builder
				for _, w := range c.want {
					fmt.Fprintf(&b, "  [%s, %s) %d\n", w.start, w.end, w.who)
				}
				t.Errorf("Shifts(%s, %s):\n%swant:\n%s", c.from, c.to, formatShifts(got), b.String())
			}
			// OnCall agrees with the hand-computed pieces at their edges.
			pts := c.points
			for _, w := range c.want {
				pts = append(pts, point{w.start, w.who})
				end := at(t, w.end).Add(-time.Nanosecond).Format(time.RFC3339Nano)
				pts = append(pts, point{end, w.who})
			}
			for _, p := range pts {
				r, ok := s.OnCall(at(t, p.at))
				if (p.who == 0) == ok || (ok && r.ID != p.who) {
					t.Errorf("OnCall(%s) = %+v, %v; want %d", p.at, r, ok, p.who)
				}
			}
		})
	}
}

func TestRotationAcrossDST(t *testing.T) {
	runTable(t, []tableCase{
		{
			name:   "Berlin daily 09:00 across spring forward 2027-03-28",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-03-26T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}}},
			from:   "2027-03-27T00:00:00+01:00", to: "2027-03-30T00:00:00+02:00",
			want: []piece{
				{"2027-03-27T00:00:00+01:00", "2027-03-27T09:00:00+01:00", 1},
				{"2027-03-27T09:00:00+01:00", "2027-03-28T09:00:00+02:00", 2}, // 23 hours
				{"2027-03-28T09:00:00+02:00", "2027-03-29T09:00:00+02:00", 3},
				{"2027-03-29T09:00:00+02:00", "2027-03-30T00:00:00+02:00", 1},
			},
			points: []point{{"2027-03-28T07:30:00Z", 3}, {"2027-03-28T06:59:59Z", 2}},
		},
		{
			name: "Berlin daily 09:00 across fall back 2027-10-31",
			zone: "Europe/Berlin",
			// 218 days after 2027-03-26: handoff 218 (participant 218 mod 3 = 2) is 2027-10-30 09:00.
			layers: []Layer{{RotationStart: at(t, "2027-03-26T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}}},
			from:   "2027-10-30T00:00:00+02:00", to: "2027-11-01T12:00:00+01:00",
			want: []piece{
				{"2027-10-30T00:00:00+02:00", "2027-10-30T09:00:00+02:00", 2},
				{"2027-10-30T09:00:00+02:00", "2027-10-31T09:00:00+01:00", 3}, // 25 hours
				{"2027-10-31T09:00:00+01:00", "2027-11-01T09:00:00+01:00", 1},
				{"2027-11-01T09:00:00+01:00", "2027-11-01T12:00:00+01:00", 2},
			},
		},
		{
			name:   "Chicago 12-hour 08:00/20:00 across spring forward 2027-03-14",
			zone:   "America/Chicago",
			layers: []Layer{{RotationStart: at(t, "2027-03-13T08:00:00-06:00"), ShiftLength: 12, ShiftUnit: Hour, Participants: []int64{1, 2}}},
			from:   "2027-03-13T12:00:00-06:00", to: "2027-03-15T00:00:00-05:00",
			want: []piece{
				{"2027-03-13T12:00:00-06:00", "2027-03-13T20:00:00-06:00", 1},
				{"2027-03-13T20:00:00-06:00", "2027-03-14T08:00:00-05:00", 2}, // 11 hours
				{"2027-03-14T08:00:00-05:00", "2027-03-14T20:00:00-05:00", 1},
				{"2027-03-14T20:00:00-05:00", "2027-03-15T00:00:00-05:00", 2},
			},
		},
		{
			name:   "Chicago 12-hour 08:00/20:00 across fall back 2027-11-07",
			zone:   "America/Chicago",
			layers: []Layer{{RotationStart: at(t, "2027-11-06T08:00:00-05:00"), ShiftLength: 12, ShiftUnit: Hour, Participants: []int64{1, 2}}},
			from:   "2027-11-06T08:00:00-05:00", to: "2027-11-07T20:00:00-06:00",
			want: []piece{
				{"2027-11-06T08:00:00-05:00", "2027-11-06T20:00:00-05:00", 1},
				{"2027-11-06T20:00:00-05:00", "2027-11-07T08:00:00-06:00", 2}, // 13 hours
				{"2027-11-07T08:00:00-06:00", "2027-11-07T20:00:00-06:00", 1},
			},
		},
		{
			// Handoff 2 (02:00) does not exist: it moves to 03:00 CEST, where handoff 3 is too, so
			// participant 3's shift is empty that day: wall-clock hours, as for every unit.
			name:   "Berlin hourly across the spring-forward gap",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-03-28T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{1, 2, 3, 4}}},
			from:   "2027-03-28T00:00:00+01:00", to: "2027-03-28T05:00:00+02:00",
			want: []piece{
				{"2027-03-28T00:00:00+01:00", "2027-03-28T01:00:00+01:00", 1},
				{"2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00", 2},
				{"2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00", 4},
				{"2027-03-28T04:00:00+02:00", "2027-03-28T05:00:00+02:00", 1},
			},
		},
		{
			// Handoff 2 (02:00) takes the first of the two 02:00s; handoff 3 (03:00) exists once,
			// in CET, so participant 3 has two hours.
			name:   "Berlin hourly across the fall-back overlap",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-10-31T00:00:00+02:00"), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{1, 2, 3, 4}}},
			from:   "2027-10-31T00:00:00+02:00", to: "2027-10-31T05:00:00+01:00",
			want: []piece{
				{"2027-10-31T00:00:00+02:00", "2027-10-31T01:00:00+02:00", 1},
				{"2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00", 2},
				{"2027-10-31T02:00:00+02:00", "2027-10-31T03:00:00+01:00", 3},
				{"2027-10-31T03:00:00+01:00", "2027-10-31T04:00:00+01:00", 4},
				{"2027-10-31T04:00:00+01:00", "2027-10-31T05:00:00+01:00", 1},
			},
			points: []point{{"2027-10-31T02:30:00+01:00", 3}},
		},
		{
			name:   "Berlin daily 02:30: in the gap on 2027-03-28 it is 03:00 CEST, that day only",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-03-27T02:30:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}},
			from:   "2027-03-27T00:00:00+01:00", to: "2027-03-30T00:00:00+02:00",
			want: []piece{
				{"2027-03-27T00:00:00+01:00", "2027-03-27T02:30:00+01:00", 0},
				{"2027-03-27T02:30:00+01:00", "2027-03-28T03:00:00+02:00", 1},
				{"2027-03-28T03:00:00+02:00", "2027-03-29T02:30:00+02:00", 2},
				{"2027-03-29T02:30:00+02:00", "2027-03-30T00:00:00+02:00", 1},
			},
		},
		{
			name:   "Berlin daily 02:30 on the fall-back day takes the first 02:30 (CEST)",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-10-30T02:30:00+02:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}},
			from:   "2027-10-30T02:30:00+02:00", to: "2027-11-01T03:00:00+01:00",
			want: []piece{
				{"2027-10-30T02:30:00+02:00", "2027-10-31T02:30:00+02:00", 1},
				{"2027-10-31T02:30:00+02:00", "2027-11-01T02:30:00+01:00", 2}, // 25 hours
				{"2027-11-01T02:30:00+01:00", "2027-11-01T03:00:00+01:00", 1},
			},
			points: []point{{"2027-10-31T02:29:59+02:00", 1}, {"2027-10-31T02:30:00+01:00", 2}},
		},
		{
			// rotation_start is the second 02:30: handoff 0 is rotation_start itself.
			name:   "Berlin rotation starting at the second 02:30 of the fall-back day",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-10-31T02:30:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}},
			from:   "2027-10-31T02:00:00+02:00", to: "2027-11-01T03:00:00+01:00",
			want: []piece{
				{"2027-10-31T02:00:00+02:00", "2027-10-31T02:30:00+01:00", 0},
				{"2027-10-31T02:30:00+01:00", "2027-11-01T02:30:00+01:00", 1},
				{"2027-11-01T02:30:00+01:00", "2027-11-01T03:00:00+01:00", 2},
			},
			points: []point{{"2027-10-31T02:40:00+02:00", 0}},
		},
		{
			name:   "Lord Howe daily 02:15 in the 30-minute gap of 2027-10-03 is 02:30 +11:00",
			zone:   "Australia/Lord_Howe",
			layers: []Layer{{RotationStart: at(t, "2027-10-02T02:15:00+10:30"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}},
			from:   "2027-10-02T02:15:00+10:30", to: "2027-10-04T03:00:00+11:00",
			want: []piece{
				{"2027-10-02T02:15:00+10:30", "2027-10-03T02:30:00+11:00", 1}, // 23h45m
				{"2027-10-03T02:30:00+11:00", "2027-10-04T02:15:00+11:00", 2},
				{"2027-10-04T02:15:00+11:00", "2027-10-04T03:00:00+11:00", 1},
			},
		},
		{
			name:   "Lord Howe daily 01:45 on the fall-back day takes the first 01:45 (+11:00)",
			zone:   "Australia/Lord_Howe",
			layers: []Layer{{RotationStart: at(t, "2027-04-03T01:45:00+11:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}},
			from:   "2027-04-03T01:45:00+11:00", to: "2027-04-05T02:00:00+10:30",
			want: []piece{
				{"2027-04-03T01:45:00+11:00", "2027-04-04T01:45:00+11:00", 1},
				{"2027-04-04T01:45:00+11:00", "2027-04-05T01:45:00+10:30", 2}, // 24h30m
				{"2027-04-05T01:45:00+10:30", "2027-04-05T02:00:00+10:30", 1},
			},
			points: []point{{"2027-04-04T01:50:00+10:30", 2}},
		},
		{
			name:   "Lord Howe hourly across the 30-minute gap",
			zone:   "Australia/Lord_Howe",
			layers: []Layer{{RotationStart: at(t, "2027-10-03T00:00:00+10:30"), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{1, 2, 3}}},
			from:   "2027-10-03T00:00:00+10:30", to: "2027-10-03T04:00:00+11:00",
			want: []piece{
				{"2027-10-03T00:00:00+10:30", "2027-10-03T01:00:00+10:30", 1},
				{"2027-10-03T01:00:00+10:30", "2027-10-03T02:30:00+11:00", 2}, // one hour
				{"2027-10-03T02:30:00+11:00", "2027-10-03T03:00:00+11:00", 3}, // 30 minutes
				{"2027-10-03T03:00:00+11:00", "2027-10-03T04:00:00+11:00", 1},
			},
		},
		{
			name:   "Sydney weekly Monday 09:00 across the April fall back",
			zone:   "Australia/Sydney",
			layers: []Layer{{RotationStart: at(t, "2027-03-29T09:00:00+11:00"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{1, 2, 3}}},
			from:   "2027-04-01T00:00:00+11:00", to: "2027-04-13T00:00:00+10:00",
			want: []piece{
				{"2027-04-01T00:00:00+11:00", "2027-04-05T09:00:00+10:00", 1}, // a 169-hour week
				{"2027-04-05T09:00:00+10:00", "2027-04-12T09:00:00+10:00", 2},
				{"2027-04-12T09:00:00+10:00", "2027-04-13T00:00:00+10:00", 3},
			},
		},
		{
			name:   "Sydney two-week shifts across the October spring forward",
			zone:   "Australia/Sydney",
			layers: []Layer{{RotationStart: at(t, "2027-09-20T10:00:00+10:00"), ShiftLength: 2, ShiftUnit: Week, Participants: []int64{4, 5}}},
			from:   "2027-09-20T10:00:00+10:00", to: "2027-10-18T10:00:00+11:00",
			want: []piece{
				{"2027-09-20T10:00:00+10:00", "2027-10-04T10:00:00+11:00", 4},
				{"2027-10-04T10:00:00+11:00", "2027-10-18T10:00:00+11:00", 5},
			},
		},
		{
			name: "Kolkata (+05:30, no DST) daily 09:30 years after rotation_start",
			zone: "Asia/Kolkata",
			// 2020-01-01 to 2027-01-01 is 2557 days; 2557 mod 3 = 1.
			layers: []Layer{{RotationStart: at(t, "2020-01-01T09:30:00+05:30"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2, 3}}},
			from:   "2027-01-01T00:00:00+05:30", to: "2027-01-02T12:00:00+05:30",
			want: []piece{
				{"2027-01-01T00:00:00+05:30", "2027-01-01T09:30:00+05:30", 1},
				{"2027-01-01T09:30:00+05:30", "2027-01-02T09:30:00+05:30", 2},
				{"2027-01-02T09:30:00+05:30", "2027-01-02T12:00:00+05:30", 3},
			},
		},
	})
}

func TestLayerLife(t *testing.T) {
	runTable(t, []tableCase{
		{
			name:   "rotation_start in the future",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-06-01T09:00:00+02:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1}}},
			from:   "2027-05-31T00:00:00+02:00", to: "2027-06-02T00:00:00+02:00",
			want: []piece{
				{"2027-05-31T00:00:00+02:00", "2027-06-01T09:00:00+02:00", 0},
				{"2027-06-01T09:00:00+02:00", "2027-06-02T00:00:00+02:00", 1},
			},
		},
		{
			name:   "ends_at",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}, EndsAt: at(t, "2027-01-03T15:00:00+01:00")}},
			from:   "2027-01-02T00:00:00+01:00", to: "2027-01-04T00:00:00+01:00",
			want: []piece{
				{"2027-01-02T00:00:00+01:00", "2027-01-02T09:00:00+01:00", 1},
				{"2027-01-02T09:00:00+01:00", "2027-01-03T09:00:00+01:00", 2},
				{"2027-01-03T09:00:00+01:00", "2027-01-03T15:00:00+01:00", 1},
				{"2027-01-03T15:00:00+01:00", "2027-01-04T00:00:00+01:00", 0},
			},
		},
		{
			name:   "repeated participants merge",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 1, 2}}},
			from:   "2027-01-01T09:00:00+01:00", to: "2027-01-07T09:00:00+01:00",
			want: []piece{
				{"2027-01-01T09:00:00+01:00", "2027-01-03T09:00:00+01:00", 1},
				{"2027-01-03T09:00:00+01:00", "2027-01-04T09:00:00+01:00", 2},
				{"2027-01-04T09:00:00+01:00", "2027-01-06T09:00:00+01:00", 1},
				{"2027-01-06T09:00:00+01:00", "2027-01-07T09:00:00+01:00", 2},
			},
		},
		{
			name: "priority: the higher layer wins, the lower shows through its restriction and its end",
			zone: "Europe/Berlin",
			layers: []Layer{
				{Priority: 1, RotationStart: at(t, "2027-01-04T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{2}},
				{Priority: 10, RotationStart: at(t, "2027-01-01T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1},
					EndsAt: at(t, "2027-01-05T12:00:00+01:00"), Restrictions: []Restriction{{StartTime: 9 * time.Hour, Duration: 8 * time.Hour}}},
				{Priority: 5, RotationStart: at(t, "2027-01-05T16:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{3},
					EndsAt: at(t, "2027-01-05T20:00:00+01:00")},
			},
			from: "2027-01-04T00:00:00+01:00", to: "2027-01-06T00:00:00+01:00",
			want: []piece{
				{"2027-01-04T00:00:00+01:00", "2027-01-04T09:00:00+01:00", 2},
				{"2027-01-04T09:00:00+01:00", "2027-01-04T17:00:00+01:00", 1},
				{"2027-01-04T17:00:00+01:00", "2027-01-05T09:00:00+01:00", 2},
				{"2027-01-05T09:00:00+01:00", "2027-01-05T12:00:00+01:00", 1},
				{"2027-01-05T12:00:00+01:00", "2027-01-05T16:00:00+01:00", 2},
				{"2027-01-05T16:00:00+01:00", "2027-01-05T20:00:00+01:00", 3},
				{"2027-01-05T20:00:00+01:00", "2027-01-06T00:00:00+01:00", 2},
			},
		},
	})
}

func TestRestrictions(t *testing.T) {
	runTable(t, []tableCase{
		{
			// 22:00 for 10h ends at 08:00 local even though that night has 9 hours.
			name: "Sydney daily window across midnight and the spring forward",
			zone: "Australia/Sydney",
			layers: []Layer{{RotationStart: at(t, "2027-09-01T00:00:00+10:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1},
				Restrictions: []Restriction{{StartTime: 22 * time.Hour, Duration: 10 * time.Hour}}}},
			from: "2027-10-02T12:00:00+10:00", to: "2027-10-03T23:00:00+11:00",
			want: []piece{
				{"2027-10-02T12:00:00+10:00", "2027-10-02T22:00:00+10:00", 0},
				{"2027-10-02T22:00:00+10:00", "2027-10-03T08:00:00+11:00", 1},
				{"2027-10-03T08:00:00+11:00", "2027-10-03T22:00:00+11:00", 0},
				{"2027-10-03T22:00:00+11:00", "2027-10-03T23:00:00+11:00", 1},
			},
		},
		{
			name: "Berlin weekly Saturday 22:00 for 10h across the spring forward",
			zone: "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{1},
				Restrictions: []Restriction{{StartDay: 6, StartTime: 22 * time.Hour, Duration: 10 * time.Hour}}}},
			from: "2027-03-27T20:00:00+01:00", to: "2027-03-28T09:00:00+02:00",
			want: []piece{
				{"2027-03-27T20:00:00+01:00", "2027-03-27T22:00:00+01:00", 0},
				{"2027-03-27T22:00:00+01:00", "2027-03-28T08:00:00+02:00", 1},
				{"2027-03-28T08:00:00+02:00", "2027-03-28T09:00:00+02:00", 0},
			},
		},
		{
			// The rotation keeps turning under the mask: the 09:30 handoff of Monday happens
			// inside the window that started on Sunday.
			name: "Kolkata weekly Sunday 22:00 for 12h ends Monday 10:00",
			zone: "Asia/Kolkata",
			layers: []Layer{{RotationStart: at(t, "2027-01-04T09:30:00+05:30"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2},
				Restrictions: []Restriction{{StartDay: 7, StartTime: 22 * time.Hour, Duration: 12 * time.Hour}}}},
			from: "2027-01-10T00:00:00+05:30", to: "2027-01-12T00:00:00+05:30",
			want: []piece{
				{"2027-01-10T00:00:00+05:30", "2027-01-10T22:00:00+05:30", 0},
				{"2027-01-10T22:00:00+05:30", "2027-01-11T09:30:00+05:30", 1},
				{"2027-01-11T09:30:00+05:30", "2027-01-11T10:00:00+05:30", 2},
				{"2027-01-11T10:00:00+05:30", "2027-01-12T00:00:00+05:30", 0},
			},
		},
		{
			name: "Kolkata overlapping daily windows count as their union",
			zone: "Asia/Kolkata",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T00:00:00+05:30"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{3},
				Restrictions: []Restriction{{StartTime: 20 * time.Hour, Duration: 6 * time.Hour}, {StartTime: time.Hour, Duration: 2 * time.Hour}}}},
			from: "2027-01-05T12:00:00+05:30", to: "2027-01-06T12:00:00+05:30",
			want: []piece{
				{"2027-01-05T12:00:00+05:30", "2027-01-05T20:00:00+05:30", 0},
				{"2027-01-05T20:00:00+05:30", "2027-01-06T03:00:00+05:30", 3},
				{"2027-01-06T03:00:00+05:30", "2027-01-06T12:00:00+05:30", 0},
			},
		},
		{
			name: "Chicago weekday business hours, a weekly window of a whole week",
			zone: "America/Chicago",
			layers: []Layer{
				{Priority: 2, RotationStart: at(t, "2027-03-01T08:00:00-06:00"), ShiftLength: 12, ShiftUnit: Hour, Participants: []int64{1, 2},
					Restrictions: []Restriction{
						{StartDay: 1, StartTime: 8 * time.Hour, Duration: 10 * time.Hour}, {StartDay: 2, StartTime: 8 * time.Hour, Duration: 10 * time.Hour},
						{StartDay: 3, StartTime: 8 * time.Hour, Duration: 10 * time.Hour}, {StartDay: 4, StartTime: 8 * time.Hour, Duration: 10 * time.Hour},
						{StartDay: 5, StartTime: 8 * time.Hour, Duration: 10 * time.Hour},
					}},
				{Priority: 1, RotationStart: at(t, "2027-03-01T00:00:00-06:00"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{3},
					Restrictions: []Restriction{{StartDay: 5, StartTime: 18 * time.Hour, Duration: 7 * 24 * time.Hour}}},
			},
			// Friday 2027-03-12 to Monday 2027-03-15 across the 2027-03-14 spring forward. The
			// weekly window from Friday 18:00 lasts 7 days of wall-clock time.
			from: "2027-03-12T00:00:00-06:00", to: "2027-03-15T12:00:00-05:00",
			want: []piece{
				{"2027-03-12T00:00:00-06:00", "2027-03-12T08:00:00-06:00", 3}, // last week's window
				{"2027-03-12T08:00:00-06:00", "2027-03-12T18:00:00-06:00", 1},
				{"2027-03-12T18:00:00-06:00", "2027-03-15T08:00:00-05:00", 3},
				{"2027-03-15T08:00:00-05:00", "2027-03-15T12:00:00-05:00", 1},
			},
		},
	})
}

func TestOverrides(t *testing.T) {
	created := func(s string) time.Time { return at(t, s) }
	layer := []Layer{{RotationStart: at(t, "2027-01-01T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, 2}}}
	runTable(t, []tableCase{
		{
			name:   "whole-schedule override, even where nobody would be on call",
			zone:   "Europe/Berlin",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1}, EndsAt: at(t, "2027-01-10T00:00:00+01:00")}},
			ovs:    []Override{{ID: 1, ResponderID: 4, Start: at(t, "2027-01-09T12:00:00+01:00"), End: at(t, "2027-01-10T12:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")}},
			from:   "2027-01-09T00:00:00+01:00", to: "2027-01-11T00:00:00+01:00",
			want: []piece{
				{"2027-01-09T00:00:00+01:00", "2027-01-09T12:00:00+01:00", 1},
				{"2027-01-09T12:00:00+01:00", "2027-01-10T12:00:00+01:00", 4},
				{"2027-01-10T12:00:00+01:00", "2027-01-11T00:00:00+01:00", 0},
			},
		},
		{
			name: "replacing override applies only while the replaced one is on call",
			zone: "Europe/Berlin", layers: layer,
			ovs:  []Override{{ID: 1, ResponderID: 5, ReplacesResponderID: 1, Start: at(t, "2027-01-01T12:00:00+01:00"), End: at(t, "2027-01-03T12:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")}},
			from: "2027-01-01T09:00:00+01:00", to: "2027-01-04T09:00:00+01:00",
			want: []piece{
				{"2027-01-01T09:00:00+01:00", "2027-01-01T12:00:00+01:00", 1},
				{"2027-01-01T12:00:00+01:00", "2027-01-02T09:00:00+01:00", 5},
				{"2027-01-02T09:00:00+01:00", "2027-01-03T09:00:00+01:00", 2},
				{"2027-01-03T09:00:00+01:00", "2027-01-03T12:00:00+01:00", 5},
				{"2027-01-03T12:00:00+01:00", "2027-01-04T09:00:00+01:00", 1},
			},
		},
		{
			name: "overlapping whole-schedule overrides: newest wins, created_at tie to the higher id",
			zone: "Europe/Berlin", layers: layer,
			ovs: []Override{
				{ID: 10, ResponderID: 3, Start: at(t, "2027-01-01T10:00:00+01:00"), End: at(t, "2027-01-01T20:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")},
				{ID: 11, ResponderID: 4, Start: at(t, "2027-01-01T12:00:00+01:00"), End: at(t, "2027-01-01T14:00:00+01:00"), CreatedAt: created("2026-12-02T00:00:00Z")},
				{ID: 12, ResponderID: 5, Start: at(t, "2027-01-01T13:00:00+01:00"), End: at(t, "2027-01-01T18:00:00+01:00"), CreatedAt: created("2026-11-30T00:00:00Z")},
				{ID: 21, ResponderID: 4, Start: at(t, "2027-01-02T10:00:00+01:00"), End: at(t, "2027-01-02T11:00:00+01:00"), CreatedAt: created("2026-12-05T00:00:00Z")},
				{ID: 20, ResponderID: 3, Start: at(t, "2027-01-02T10:00:00+01:00"), End: at(t, "2027-01-02T11:00:00+01:00"), CreatedAt: created("2026-12-05T00:00:00Z")},
			},
			from: "2027-01-01T09:00:00+01:00", to: "2027-01-02T12:00:00+01:00",
			want: []piece{
				{"2027-01-01T09:00:00+01:00", "2027-01-01T10:00:00+01:00", 1},
				{"2027-01-01T10:00:00+01:00", "2027-01-01T12:00:00+01:00", 3},
				{"2027-01-01T12:00:00+01:00", "2027-01-01T14:00:00+01:00", 4},
				{"2027-01-01T14:00:00+01:00", "2027-01-01T20:00:00+01:00", 3},
				{"2027-01-01T20:00:00+01:00", "2027-01-02T09:00:00+01:00", 1},
				{"2027-01-02T09:00:00+01:00", "2027-01-02T10:00:00+01:00", 2},
				{"2027-01-02T10:00:00+01:00", "2027-01-02T11:00:00+01:00", 4},
				{"2027-01-02T11:00:00+01:00", "2027-01-02T12:00:00+01:00", 2},
			},
		},
		{
			name: "overlapping stand-ins for the same responder: newest wins",
			zone: "Europe/Berlin", layers: layer,
			ovs: []Override{
				{ID: 31, ResponderID: 4, ReplacesResponderID: 1, Start: at(t, "2027-01-05T11:00:00+01:00"), End: at(t, "2027-01-05T13:00:00+01:00"), CreatedAt: created("2026-12-02T00:00:00Z")},
				{ID: 30, ResponderID: 5, ReplacesResponderID: 1, Start: at(t, "2027-01-05T10:00:00+01:00"), End: at(t, "2027-01-05T12:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")},
			},
			from: "2027-01-05T09:00:00+01:00", to: "2027-01-05T14:00:00+01:00",
			want: []piece{
				{"2027-01-05T09:00:00+01:00", "2027-01-05T10:00:00+01:00", 1},
				{"2027-01-05T10:00:00+01:00", "2027-01-05T11:00:00+01:00", 5},
				{"2027-01-05T11:00:00+01:00", "2027-01-05T13:00:00+01:00", 4},
				{"2027-01-05T13:00:00+01:00", "2027-01-05T14:00:00+01:00", 1},
			},
		},
		{
			// A stand-in for 3 applies while an older whole-schedule override puts 3 on call; a
			// newer stand-in for 1 does not, 1 being off call under that override.
			name: "stand-ins folded over an older whole-schedule override",
			zone: "Europe/Berlin", layers: layer,
			ovs: []Override{
				{ID: 40, ResponderID: 3, Start: at(t, "2027-01-07T10:00:00+01:00"), End: at(t, "2027-01-07T14:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")},
				{ID: 41, ResponderID: 4, ReplacesResponderID: 3, Start: at(t, "2027-01-07T12:00:00+01:00"), End: at(t, "2027-01-07T16:00:00+01:00"), CreatedAt: created("2026-12-02T00:00:00Z")},
				{ID: 42, ResponderID: 5, ReplacesResponderID: 1, Start: at(t, "2027-01-07T11:00:00+01:00"), End: at(t, "2027-01-07T12:00:00+01:00"), CreatedAt: created("2026-12-03T00:00:00Z")},
			},
			from: "2027-01-07T09:00:00+01:00", to: "2027-01-07T18:00:00+01:00",
			want: []piece{
				{"2027-01-07T09:00:00+01:00", "2027-01-07T10:00:00+01:00", 1},
				{"2027-01-07T10:00:00+01:00", "2027-01-07T12:00:00+01:00", 3},
				{"2027-01-07T12:00:00+01:00", "2027-01-07T14:00:00+01:00", 4},
				{"2027-01-07T14:00:00+01:00", "2027-01-07T18:00:00+01:00", 1},
			},
		},
		{
			name: "a newer whole-schedule override beats an older stand-in",
			zone: "Europe/Berlin", layers: layer,
			ovs: []Override{
				{ID: 50, ResponderID: 5, ReplacesResponderID: 1, Start: at(t, "2027-01-07T10:00:00+01:00"), End: at(t, "2027-01-07T14:00:00+01:00"), CreatedAt: created("2026-12-01T00:00:00Z")},
				{ID: 51, ResponderID: 3, Start: at(t, "2027-01-07T12:00:00+01:00"), End: at(t, "2027-01-07T13:00:00+01:00"), CreatedAt: created("2026-12-02T00:00:00Z")},
			},
			from: "2027-01-07T09:00:00+01:00", to: "2027-01-07T15:00:00+01:00",
			want: []piece{
				{"2027-01-07T09:00:00+01:00", "2027-01-07T10:00:00+01:00", 1},
				{"2027-01-07T10:00:00+01:00", "2027-01-07T12:00:00+01:00", 5},
				{"2027-01-07T12:00:00+01:00", "2027-01-07T13:00:00+01:00", 3},
				{"2027-01-07T13:00:00+01:00", "2027-01-07T14:00:00+01:00", 5},
				{"2027-01-07T14:00:00+01:00", "2027-01-07T15:00:00+01:00", 1},
			},
		},
	})
}

// TestStaleParticipants: an id missing from Responders (a responder deleted while still a
// participant) keeps its turns, which are empty, so lower layers show through them; overrides
// naming one are ignored; the schedule is still valid.
func TestStaleParticipants(t *testing.T) {
	const gone = 42 // not in people()
	runTable(t, []tableCase{
		{
			name: "a stale participant's turns are gaps the lower layer fills",
			zone: "Europe/Berlin",
			layers: []Layer{
				{Priority: 2, RotationStart: at(t, "2027-01-01T09:00:00+01:00"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, gone, 2}},
				{Priority: 1, RotationStart: at(t, "2027-01-02T00:00:00+01:00"), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{3},
					Restrictions: []Restriction{{StartTime: 12 * time.Hour, Duration: 6 * time.Hour}}},
			},
			from: "2027-01-01T09:00:00+01:00", to: "2027-01-05T09:00:00+01:00",
			want: []piece{
				{"2027-01-01T09:00:00+01:00", "2027-01-02T09:00:00+01:00", 1},
				{"2027-01-02T09:00:00+01:00", "2027-01-02T12:00:00+01:00", 0},
				{"2027-01-02T12:00:00+01:00", "2027-01-02T18:00:00+01:00", 3},
				{"2027-01-02T18:00:00+01:00", "2027-01-03T09:00:00+01:00", 0},
				{"2027-01-03T09:00:00+01:00", "2027-01-04T09:00:00+01:00", 2},
				{"2027-01-04T09:00:00+01:00", "2027-01-05T09:00:00+01:00", 1},
			},
		},
		{
			name:   "a layer of stale participants only has nobody",
			zone:   "UTC",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T00:00:00Z"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{gone, gone + 1}}},
			from:   "2027-01-01T00:00:00Z", to: "2027-01-04T00:00:00Z",
			want: []piece{{"2027-01-01T00:00:00Z", "2027-01-04T00:00:00Z", 0}},
		},
		{
			name:   "overrides naming a stale id are ignored",
			zone:   "UTC",
			layers: []Layer{{RotationStart: at(t, "2027-01-01T00:00:00Z"), ShiftLength: 1, ShiftUnit: Day, Participants: []int64{1, gone}}},
			ovs: []Override{
				{ID: 1, ResponderID: gone, Start: at(t, "2027-01-01T06:00:00Z"), End: at(t, "2027-01-01T12:00:00Z")},
				{ID: 2, ResponderID: 4, ReplacesResponderID: gone, Start: at(t, "2027-01-02T06:00:00Z"), End: at(t, "2027-01-02T12:00:00Z")},
				{ID: 3, ResponderID: gone, ReplacesResponderID: 1, Start: at(t, "2027-01-03T06:00:00Z"), End: at(t, "2027-01-03T12:00:00Z")},
				{ID: 4, ResponderID: 5, Start: at(t, "2027-01-02T18:00:00Z"), End: at(t, "2027-01-02T20:00:00Z")},
			},
			from: "2027-01-01T00:00:00Z", to: "2027-01-04T00:00:00Z",
			want: []piece{
				{"2027-01-01T00:00:00Z", "2027-01-02T00:00:00Z", 1},
				{"2027-01-02T00:00:00Z", "2027-01-02T18:00:00Z", 0},
				{"2027-01-02T18:00:00Z", "2027-01-02T20:00:00Z", 5},
				{"2027-01-02T20:00:00Z", "2027-01-03T00:00:00Z", 0},
				{"2027-01-03T00:00:00Z", "2027-01-04T00:00:00Z", 1},
			},
		},
	})
}
