package oncall

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// fuzzBytes hands out values from the fuzzer's bytes, zeros once they run out.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) u8() uint8 {
	if len(f.b) == 0 {
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return v
}

func (f *fuzzBytes) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], f.b)
	f.b = f.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (f *fuzzBytes) i64() int64 { return int64(f.u64()) }

// small is a small signed number, the common case for ids and counts.
func (f *fuzzBytes) small() int64 { return int64(int8(f.u8())) }

var fuzzZones = []string{"Europe/Berlin", "America/Chicago", "Australia/Lord_Howe", "Australia/Sydney", "Asia/Kolkata", "UTC", "Antarctica/Troll"}

func (f *fuzzBytes) location() *time.Location {
	switch k := int(f.u8()) % (len(fuzzZones) + 3); k {
	case len(fuzzZones):
		return nil
	case len(fuzzZones) + 1:
		return time.FixedZone("fixed", int(int32(f.u64()))) // any offset at all
	case len(fuzzZones) + 2:
		return new(time.Location)
	default:
		loc, err := time.LoadLocation(fuzzZones[k])
		if err != nil {
			panic(err)
		}
		return loc
	}
}

// instant is near the model's sweet spot most of the time, anywhere at all otherwise.
func (f *fuzzBytes) instant() time.Time {
	base := time.Date(2027, 3, 28, 1, 0, 0, 0, time.UTC)
	switch f.u8() % 6 {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(f.i64(), f.i64()) // any year
	case 2:
		return time.Unix(0, f.i64())
	case 3:
		return base.Add(time.Duration(f.i64()))
	default:
		return base.Add(time.Duration(int32(f.u64())) * time.Minute / 4) // within ±17 years, on 15 s
	}
}

func (f *fuzzBytes) duration() time.Duration {
	switch f.u8() % 3 {
	case 0:
		return time.Duration(f.i64())
	default:
		return time.Duration(f.small()) * 37 * time.Minute
	}
}

func (f *fuzzBytes) schedule() *Schedule {
	s := &Schedule{ID: f.small(), Location: f.location(), Responders: map[int64]Responder{}}
	for id := int64(1); id <= 4; id++ {
		key := id
		if f.u8()%16 == 0 {
			key = f.small() // a mismatched or bad key
		}
		s.Responders[key] = Responder{ID: id, Name: "r"}
	}
	units := []Unit{Hour, Day, Week, "", "month"}
	for range f.u8() % 5 {
		l := Layer{ID: f.small(), Priority: int(f.small() % 4), RotationStart: f.instant(), ShiftUnit: units[f.u8()%5]}
		if f.u8()%4 == 0 {
			l.ShiftLength = int(f.i64())
		} else {
			l.ShiftLength = int(f.small())
		}
		for range f.u8() % 5 {
			l.Participants = append(l.Participants, f.small()%6)
		}
		if f.u8()%2 == 0 {
			l.EndsAt = f.instant()
		}
		for range f.u8() % 4 {
			l.Restrictions = append(l.Restrictions, Restriction{StartDay: int(f.small() % 9), StartTime: f.duration(), Duration: f.duration()})
		}
		s.Layers = append(s.Layers, l)
	}
	for range f.u8() % 6 {
		o := Override{ID: f.small(), ResponderID: f.small() % 6, Start: f.instant(), CreatedAt: f.instant()}
		if f.u8()%2 == 0 {
			o.ReplacesResponderID = f.small() % 6
		}
		if f.u8()%2 == 0 {
			o.End = o.Start.Add(f.duration())
		} else {
			o.End = f.instant()
		}
		s.Overrides = append(s.Overrides, o)
	}
	return s
}

// FuzzSchedule builds a schedule from arbitrary bytes (anything the loader could produce and
// much it could not, invalid values and stale ids included) and runs Validate, OnCall and Shifts
// on it: they must not panic, Shifts must cover its window exactly whatever the schedule, and on
// a valid one name only responders of Responders. Windows are
// at most 30 days long: Shifts is linear in the events of its window, which callers keep sane.
func FuzzSchedule(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"))
	f.Add([]byte{0, 1, 3, 4, 1, 5, 1, 1, 1, 1, 2, 1, 2, 3, 0, 1, 9, 9, 9, 9, 9, 9, 9, 9, 1, 1, 1, 1, 2, 5, 0, 0, 0, 3, 1, 2})
	f.Add([]byte{2, 9, 9, 9, 9, 9, 9, 9, 9, 4, 1, 1, 200, 0, 0, 0, 0, 0, 0, 0, 0, 3, 255, 255, 255, 255, 255, 255, 255, 127, 0, 4, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzBytes{data}
		s := in.schedule()
		valid := s.Validate() == nil
		for range 3 {
			s.OnCall(in.instant())
		}
		from := in.instant()
		to := from.Add(time.Duration(in.i64() % int64(30*24*time.Hour)))
		ss := s.Shifts(from, to)
		if !from.Before(to) {
			if len(ss) != 0 {
				t.Fatalf("Shifts(%v, %v) over an empty window = %d shifts", from, to, len(ss))
			}
			return
		}
		checkTimeline(t, ss, from, to)
		if !valid || civil.CheckRange(from) != nil || civil.CheckRange(to) != nil {
			return
		}
		for i, sh := range ss {
			if r := sh.Responder; r != nil && *r != s.Responders[r.ID] {
				t.Fatalf("shift %d [%v, %v) names %+v, not one of the schedule's responders", i, sh.Start, sh.End, *r)
			}
		}
		for i, sh := range ss[:min(len(ss), 50)] {
			for _, u := range []time.Time{sh.Start, sh.End.Add(-time.Nanosecond)} {
				if r, ok := s.OnCall(u); (sh.Responder != nil) != ok || r.ID != who(sh.Responder) {
					t.Fatalf("shift %d [%v, %v) has %d; OnCall(%v) = %d, %v", i, sh.Start, sh.End, who(sh.Responder), u, r.ID, ok)
				}
			}
		}
	})
}
