package oncall

import "github.com/opsworker/opsworker/civil"

// rotation is a layer's handoff sequence, prepared for one computation.
//
// Handoff 0 is rotation_start itself; handoff k > 0 is the instant of the wall-clock time
// c0 + k*step, c0 being rotation_start's wall time: civil arithmetic, so a daily rotation keeps its
// local hour across DST changes and only the shift spanning a change is longer or shorter. Shift k
// is [handoff(k), handoff(k+1)) and belongs to who[k mod len(who)].
type rotation struct {
	z     *civil.Zone
	start int64 // rotation_start
	end   int64 // ends_at, or never
	c0    int64 // rotation_start's wall-clock time
	step  int64 // shift length in civil nanoseconds, in [1h, maxStep]
	who   []int64
}

func newRotation(z *civil.Zone, l *Layer) rotation {
	r := rotation{
		z:     z,
		start: civil.ClampNano(l.RotationStart),
		end:   never,
		step:  shiftStep(l.ShiftLength, l.ShiftUnit),
		who:   l.Participants,
	}
	if !l.EndsAt.IsZero() {
		r.end = civil.ClampNano(l.EndsAt)
	}
	r.c0 = z.Civil(r.start)
	return r
}

// unitNs is the civil length of one unit, and false for a unit the model does not know.
func unitNs(u Unit) (int64, bool) {
	switch u {
	case Hour:
		return nsHour, true
	case Day:
		return nsDay, true
	case Week:
		return nsWeek, true
	}
	return nsHour, false
}

// shiftStep is the civil length of a shift. Lengths Validate rejects are clamped into
// [1 hour, maxStep], which keeps every computation finite and free of overflow.
func shiftStep(n int, u Unit) int64 {
	unit, _ := unitNs(u)
	if n < 1 {
		n = 1
	}
	if int64(n) > maxStep/unit {
		return maxStep
	}
	return int64(n) * unit
}

// handoff returns the instant shift k starts. It never precedes rotation_start: a zone that
// falls back by more than a shift could otherwise put handoff 1 before handoff 0.
func (r *rotation) handoff(k int64) int64 {
	if k <= 0 {
		return r.start
	}
	return max(r.start, r.z.Resolve(r.c0+k*r.step))
}

// locate returns the shift containing instant t >= start: the largest k with handoff(k) <= t.
//
// The estimate from t's wall time is never too large: wall(t) >= c0+k*step means that wall
// time, or a later one, has been reached by t, so its first instant is at or before t. It is too
// small only when a fall-back has turned t's wall clock back, by at most one shift for ordinary
// zones; the loop walks those few shifts forward.
func (r *rotation) locate(t int64) int64 {
	k := max(0, floorDiv(r.z.Civil(t)-r.c0, r.step))
	for range 64 {
		if r.handoff(k+1) > t {
			break
		}
		k++
	}
	return k
}

// participant returns who has shift k.
func (r *rotation) participant(k int64) int64 {
	return r.who[k%int64(len(r.who))]
}
