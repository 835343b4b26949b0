package oncall

import (
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// defaultChecks is how many random schedules the main property test tries when neither
// -rapid.checks nor RAPID_CHECKS says otherwise: the issue asks for at least 10,000.
const defaultChecks = 10000

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if _, env := os.LookupEnv("RAPID_CHECKS"); !set && !env {
		if err := flag.Set("rapid.checks", strconv.Itoa(defaultChecks)); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// withChecks runs f with rapid's check count divided by div (at least 1), for the properties
// that cost more per check than the main one.
func withChecks(t *testing.T, div int, f func()) {
	t.Helper()
	old := flag.Lookup("rapid.checks").Value.String()
	n, err := strconv.Atoi(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := flag.Set("rapid.checks", strconv.Itoa(max(1, n/div))); err != nil {
		t.Fatal(err)
	}
	defer flag.Set("rapid.checks", old)
	f()
}

// TestShiftsProperties is the main property test: over random valid schedules in zones with
// every kind of DST rule and windows aimed at DST changes, the timeline is contiguous, covers the
// window exactly, is merged, agrees with OnCall at every shift's first and last instant and at
// random instants, and does not depend on how the window is split.
func TestShiftsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s, focus := genSchedule(t)
		from, to := genWindow(t, s.Location, focus)
		ss := s.Shifts(from, to)
		checkTimeline(t, ss, from, to)

		for i, sh := range ss {
			if r := sh.Responder; r != nil && *r != s.Responders[r.ID] {
				t.Fatalf("shift %d [%v, %v) names %+v, not one of the schedule's responders", i, sh.Start, sh.End, *r)
			}
			for _, u := range []time.Time{sh.Start, sh.End.Add(-time.Nanosecond)} {
				r, ok := s.OnCall(u)
				if w := who(sh.Responder); (w != 0) != ok || r.ID != w {
					t.Fatalf("shift %d [%v, %v) has %d; OnCall(%v) = %d, %v", i, sh.Start, sh.End, w, u, r.ID, ok)
				}
				if ok && r != s.Responders[r.ID] {
					t.Fatalf("OnCall(%v) = %+v, not the schedule's responder", u, r)
				}
			}
		}
		for range 3 {
			u := from.Add(time.Duration(rapid.Int64Range(0, int64(to.Sub(from))-1).Draw(t, "probe")))
			i := 0
			for !ss[i].End.After(u) {
				i++
			}
			if r, ok := s.OnCall(u); (who(ss[i].Responder) != 0) != ok || r.ID != who(ss[i].Responder) {
				t.Fatalf("OnCall(%v) = %d, %v; shift %d [%v, %v) has %d", u, r.ID, ok, i, ss[i].Start, ss[i].End, who(ss[i].Responder))
			}
		}

		if to.Sub(from) > 1 {
			mid := from.Add(time.Duration(rapid.Int64Range(1, int64(to.Sub(from))-1).Draw(t, "split")))
			a, b := s.Shifts(from, mid), s.Shifts(mid, to)
			checkTimeline(t, a, from, mid)
			checkTimeline(t, b, mid, to)
			joined := append(append([]Shift{}, a...), b[0:]...)
			if n := len(a); who(a[n-1].Responder) == who(b[0].Responder) {
				joined = append(append(append([]Shift{}, a[:n-1]...), Shift{a[n-1].Start, b[0].End, b[0].Responder}), b[1:]...)
			}
			if !sameShifts(joined, ss) {
				t.Fatalf("split at %v:\n%s\nwhole:\n%s", mid, formatShifts(joined), formatShifts(ss))
			}
		}
	})
}

func sameShifts(a, b []Shift) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Start.Equal(b[i].Start) || !a[i].End.Equal(b[i].End) || who(a[i].Responder) != who(b[i].Responder) {
			return false
		}
	}
	return true
}

// TestConcurrentUse runs OnCall and Shifts on one schedule from several goroutines: under -race
// it shows that neither mutates the schedule nor shares hidden state.
func TestConcurrentUse(t *testing.T) {
	s := benchSchedule(t)
	from := time.Date(2027, 3, 20, 0, 0, 0, 0, s.Location)
	want := s.Shifts(from, from.AddDate(0, 0, 14))
	done := make(chan []Shift)
	for g := range 4 {
		go func() {
			var got []Shift
			for i := range 20 {
				s.OnCall(from.Add(time.Duration(g*20+i) * time.Hour))
				got = s.Shifts(from, from.AddDate(0, 0, 14))
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; !sameShifts(got, want) {
			t.Error("concurrent Shifts differ")
		}
	}
}
