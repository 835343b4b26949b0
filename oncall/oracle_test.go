package oncall

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// The oracle answers "who is on call at t" the slow, obvious way, with none of the package's
// machinery: wall times are time.Time values in UTC moved with Add and AddDate, a wall time's
// instant is found by trying every offset the zone uses nearby (and, for a gap, bisecting for the
// change), the rotation is walked shift by shift and restrictions are tried day by day.

// wallOf is u's wall-clock time, as a time in UTC.
func wallOf(u time.Time, loc *time.Location) time.Time {
	l := u.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}

// oracleResolve returns the first instant whose wall time is c or later.
func oracleResolve(loc *time.Location, c time.Time) time.Time {
	// Every offset the zone uses within ±28h (the zones tested keep each offset for months).
	var offsets []int
	for h := -28; h <= 28; h += 2 {
		if _, o := c.Add(time.Duration(h) * time.Hour).In(loc).Zone(); !slices.Contains(offsets, o) {
			offsets = append(offsets, o)
		}
	}
	var best time.Time
	lo, hi := c, c
	for _, o := range offsets {
		u := c.Add(-time.Duration(o) * time.Second)
		if _, uo := u.In(loc).Zone(); uo == o && (best.IsZero() || u.Before(best)) {
			best = u
		}
		lo, hi = minTimeOf(lo, u), maxTimeOf(hi, u)
	}
	if !best.IsZero() {
		return best
	}
	// A gap: the wall clock jumps over c somewhere in [lo, hi]; find where.
	for hi.Sub(lo) > 1 {
		mid := lo.Add(hi.Sub(lo) / 2)
		if wallOf(mid, loc).Before(c) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

func minTimeOf(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTimeOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func oracleHandoff(l *Layer, loc *time.Location, k int) time.Time {
	if k == 0 {
		return l.RotationStart
	}
	w0 := wallOf(l.RotationStart, loc)
	var c time.Time
	switch l.ShiftUnit {
	case Hour:
		c = w0.Add(time.Duration(k*l.ShiftLength) * time.Hour)
	case Day:
		c = w0.AddDate(0, 0, k*l.ShiftLength)
	case Week:
		c = w0.AddDate(0, 0, 7*k*l.ShiftLength)
	}
	return maxTimeOf(l.RotationStart, oracleResolve(loc, c))
}

func oracleActive(l *Layer, loc *time.Location, t time.Time) bool {
	if len(l.Restrictions) == 0 {
		return true
	}
	w := wallOf(t, loc)
	today := time.Date(w.Year(), w.Month(), w.Day(), 0, 0, 0, 0, time.UTC)
	for _, r := range l.Restrictions {
		for d := -9; d <= 2; d++ {
			day := today.AddDate(0, 0, d)
			iso := int(day.Weekday())
			if iso == 0 {
				iso = 7
			}
			if r.StartDay != 0 && r.StartDay != iso {
				continue
			}
			start := day.Add(r.StartTime)
			if !oracleResolve(loc, start).After(t) && t.Before(oracleResolve(loc, start.Add(r.Duration))) {
				return true
			}
		}
	}
	return false
}

// oracleLayer returns who layer l has at t: nobody in the turn of a participant who is not one
// of known (a stale id).
func oracleLayer(l *Layer, loc *time.Location, known map[int64]Responder, t time.Time) (int64, bool) {
	if t.Before(l.RotationStart) || (!l.EndsAt.IsZero() && !t.Before(l.EndsAt)) || !oracleActive(l, loc, t) {
		return 0, false
	}
	// Start a few shifts before the wall-clock estimate, make sure it is not after t, then walk.
	unit := map[Unit]time.Duration{Hour: time.Hour, Day: 24 * time.Hour, Week: 7 * 24 * time.Hour}[l.ShiftUnit]
	k := max(0, int(wallOf(t, loc).Sub(wallOf(l.RotationStart, loc))/(unit*time.Duration(l.ShiftLength)))-3)
	for k > 0 && oracleHandoff(l, loc, k).After(t) {
		k--
	}
	for !oracleHandoff(l, loc, k+1).After(t) {
		k++
	}
	who := l.Participants[k%len(l.Participants)]
	if _, ok := known[who]; !ok {
		return 0, false
	}
	return who, true
}

func oracleOnCall(s *Schedule, t time.Time) (int64, bool) {
	var id int64
	ok, best := false, 0
	for i := range s.Layers {
		l := &s.Layers[i]
		if who, has := oracleLayer(l, s.Location, s.Responders, t); has && (!ok || l.Priority > best) {
			id, ok, best = who, true, l.Priority
		}
	}
	var active []Override
	for _, o := range s.Overrides {
		_, known := s.Responders[o.ResponderID]
		_, knownReplaced := s.Responders[o.ReplacesResponderID]
		if !t.Before(o.Start) && t.Before(o.End) && known && (o.ReplacesResponderID == 0 || knownReplaced) {
			active = append(active, o)
		}
	}
	slices.SortFunc(active, func(a, b Override) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	var chain []int64 // who is on call, and everyone they stand in for
	if ok {
		chain = []int64{id}
	}
	for _, o := range active {
		switch {
		case o.ReplacesResponderID == 0:
			id, ok, chain = o.ResponderID, true, []int64{o.ResponderID}
		case ok && slices.Contains(chain, o.ReplacesResponderID):
			id, chain = o.ResponderID, append(chain, o.ResponderID)
		}
	}
	return id, ok
}

// oracleEdges returns the instants around which layer l's answer changes near focus, by the
// oracle's reckoning: the handoffs before and after it, and the edges of the restriction windows
// of its local day and the day before.
func oracleEdges(l *Layer, loc *time.Location, focus time.Time) []time.Time {
	out := []time.Time{l.RotationStart}
	if !l.EndsAt.IsZero() {
		out = append(out, l.EndsAt)
	}
	if !focus.Before(l.RotationStart) {
		unit := map[Unit]time.Duration{Hour: time.Hour, Day: 24 * time.Hour, Week: 7 * 24 * time.Hour}[l.ShiftUnit]
		k := max(0, int(wallOf(focus, loc).Sub(wallOf(l.RotationStart, loc))/(unit*time.Duration(l.ShiftLength))))
		for j := max(0, k-1); j <= k+2; j++ {
			out = append(out, oracleHandoff(l, loc, j))
		}
	}
	w := wallOf(focus, loc)
	for _, r := range l.Restrictions {
		for d := -1; d <= 0; d++ {
			start := time.Date(w.Year(), w.Month(), w.Day()+d, 0, 0, 0, 0, time.UTC).Add(r.StartTime)
			out = append(out, oracleResolve(loc, start), oracleResolve(loc, start.Add(r.Duration)))
		}
	}
	return out
}

// TestOnCallMatchesOracle compares OnCall with the oracle at random instants of random
// schedules (a fifth as many as the main property test: the oracle is slow) and on both sides of every handoff and window edge near the DST change they
// cluster around.
func TestOnCallMatchesOracle(t *testing.T) {
	withChecks(t, 5, func() {
		rapid.Check(t, func(t *rapid.T) {
			s, focus := genSchedule(t)
			var probes []time.Time
			for range 4 {
				probes = append(probes, genNear(t, "instant", s.Location, focus, 4*24*time.Hour, 4*24*time.Hour))
			}
			for i := range s.Layers {
				for _, e := range oracleEdges(&s.Layers[i], s.Location, focus) {
					probes = append(probes, e, e.Add(-time.Nanosecond))
				}
			}
			for _, o := range s.Overrides {
				probes = append(probes, o.Start, o.End.Add(-time.Nanosecond))
			}
			for _, u := range probes {
				want, wantOK := oracleOnCall(s, u)
				got, ok := s.OnCall(u)
				if ok != wantOK || got.ID != want {
					t.Fatalf("OnCall(%v) = %d, %v; oracle says %d, %v", u, got.ID, ok, want, wantOK)
				}
			}
		})
	})
}

// TestOracleResolve pins the oracle itself to hand-checked instants.
func TestOracleResolve(t *testing.T) {
	for _, c := range []struct{ zone, wall, want string }{
		{"Europe/Berlin", "2027-03-28T02:30:00Z", "2027-03-28T03:00:00+02:00"},
		{"Europe/Berlin", "2027-10-31T02:30:00Z", "2027-10-31T02:30:00+02:00"},
		{"Australia/Lord_Howe", "2027-10-03T02:15:00Z", "2027-10-03T02:30:00+11:00"},
		{"Australia/Lord_Howe", "2027-04-04T01:45:00Z", "2027-04-04T01:45:00+11:00"},
		{"Asia/Kolkata", "2027-01-01T09:30:00Z", "2027-01-01T09:30:00+05:30"},
	} {
		if got := oracleResolve(zoneOf(t, c.zone), at(t, c.wall)); !got.Equal(at(t, c.want)) {
			t.Errorf("oracleResolve(%s, %s) = %v, want %s", c.zone, c.wall, got, c.want)
		}
	}
}
