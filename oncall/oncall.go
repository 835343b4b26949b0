package oncall

import (
	"slices"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// OnCall returns who is on call at t, and ok=false when nobody is. Layer priorities are unique
// and one override decides each instant, so it is at most one person.
//
// It costs a few zone look-ups per layer whatever the distance to rotation_start: the shift
// containing t is found by civil-date arithmetic, not by walking the rotation. It only ever
// names a responder of Responders: a participant missing from it has empty turns, an override
// naming one is ignored.
func (s *Schedule) OnCall(t time.Time) (r Responder, ok bool) {
	if s == nil {
		return Responder{}, false
	}
	id, ok := s.onCallAt(min(civil.ClampNano(t), maxNs-1))
	if !ok {
		return Responder{}, false
	}
	return s.responder(id), true
}

// onCallAt is OnCall on an instant within the model's range.
func (s *Schedule) onCallAt(u int64) (int64, bool) {
	var z civil.Zone
	z.Init(s.Location)
	id, ok := s.layersAt(&z, u)
	return s.overridesAt(u, id, ok)
}

// layersAt returns who the layers put on call at u: the highest-priority layer that has someone.
func (s *Schedule) layersAt(z *civil.Zone, u int64) (id int64, ok bool) {
	best := -1
	for i := range s.Layers {
		l := &s.Layers[i]
		if best >= 0 && l.Priority <= s.Layers[best].Priority {
			continue // ties (which Validate rejects) go to the first layer, as in Shifts
		}
		if who, ok := s.layerAt(z, l, u); ok {
			best, id = i, who
		}
	}
	return id, best >= 0
}

// layerAt returns who layer l has on call at u, if anyone: nobody during the turn of a
// participant who is not one of the schedule's responders (a stale id).
func (s *Schedule) layerAt(z *civil.Zone, l *Layer, u int64) (int64, bool) {
	if len(l.Participants) == 0 {
		return 0, false
	}
	r := newRotation(z, l)
	if u < r.start || u >= r.end {
		return 0, false
	}
	if len(l.Restrictions) > 0 && !activeAt(z, l.Restrictions, u) {
		return 0, false
	}
	who := r.participant(r.locate(u))
	if _, ok := s.Responders[who]; !ok {
		return 0, false
	}
	return who, true
}

// overridesAt folds the overrides in effect at u over the layers' answer.
func (s *Schedule) overridesAt(u int64, id int64, ok bool) (int64, bool) {
	var buf [16]*Override
	active := buf[:0]
	// u lies inside the model's range, so comparing with the overrides' own times is the same
	// as comparing with their clamped ones, and cheaper.
	ut := time.Unix(0, u)
	people := roster{m: s.Responders}
	for i := range s.Overrides {
		o := &s.Overrides[i]
		if !ut.Before(o.Start) && ut.Before(o.End) && people.admits(o) {
			active = append(active, o)
		}
	}
	if len(active) == 0 {
		return id, ok
	}
	slices.SortStableFunc(active, older)
	return fold(id, ok, active)
}

// roster tells, for one computation, whether an id is one of the schedule's responders, and
// remembers the answers: a window's layers and overrides name the same few people again and
// again, and a map look-up each time would cost more than the rest of preparing an override.
type roster struct {
	m   map[int64]Responder
	ids [16]int64
	in  [16]bool
	n   int
}

// has reports whether id is one of the schedule's responders, not a stale id.
func (r *roster) has(id int64) bool {
	for i := range r.n {
		if r.ids[i] == id {
			return r.in[i]
		}
	}
	_, in := r.m[id]
	if r.n < len(r.ids) {
		r.ids[r.n], r.in[r.n] = id, in
		r.n++
	}
	return in
}

// admits reports whether every responder o names is one of the schedule's: an override naming
// a stale id is ignored.
func (r *roster) admits(o *Override) bool {
	return r.has(o.ResponderID) && (o.ReplacesResponderID == 0 || r.has(o.ReplacesResponderID))
}

// responder returns the responder with id; callers name only ids of Responders.
func (s *Schedule) responder(id int64) Responder {
	r := s.Responders[id]
	r.ID = id // a mismatched key (which Validate rejects) must not change who is named
	return r
}

// location returns the schedule's zone, UTC when it has none (which Validate rejects).
func (s *Schedule) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}
