package oncall

import (
	"slices"
	"time"
)

// OnCall returns who is on call at t, and ok=false when nobody is. Layer priorities are unique
// and one override decides each instant, so it is at most one person.
//
// It costs a few zone look-ups per layer whatever the distance to rotation_start: the shift
// containing t is found by civil-date arithmetic, not by walking the rotation.
func (s *Schedule) OnCall(t time.Time) (r Responder, ok bool) {
	if s == nil {
		return Responder{}, false
	}
	id, ok := s.onCallAt(min(clampNs(t), maxNs-1))
	if !ok {
		return Responder{}, false
	}
	return s.responder(id), true
}

// onCallAt is OnCall on an instant within the model's range.
func (s *Schedule) onCallAt(u int64) (int64, bool) {
	var z zone
	z.init(s.Location)
	id, ok := s.layersAt(&z, u)
	return s.overridesAt(u, id, ok)
}

// layersAt returns who the layers put on call at u: the highest-priority layer that has someone.
func (s *Schedule) layersAt(z *zone, u int64) (id int64, ok bool) {
	best := -1
	for i := range s.Layers {
		l := &s.Layers[i]
		if best >= 0 && l.Priority <= s.Layers[best].Priority {
			continue // ties (which Validate rejects) go to the first layer, as in Shifts
		}
		if who, ok := layerAt(z, l, u); ok {
			best, id = i, who
		}
	}
	return id, best >= 0
}

// layerAt returns who layer l has on call at u, if anyone.
func layerAt(z *zone, l *Layer, u int64) (int64, bool) {
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
	return r.participant(r.locate(u)), true
}

// overridesAt folds the overrides in effect at u over the layers' answer.
func (s *Schedule) overridesAt(u int64, id int64, ok bool) (int64, bool) {
	var buf [16]*Override
	active := buf[:0]
	for i := range s.Overrides {
		o := &s.Overrides[i]
		if clampNs(o.Start) <= u && u < clampNs(o.End) {
			active = append(active, o)
		}
	}
	if len(active) == 0 {
		return id, ok
	}
	slices.SortStableFunc(active, older)
	return fold(id, ok, active)
}

// responder returns the responder with id; one missing from Responders (which Validate
// rejects) is returned with its id alone rather than as nobody.
func (s *Schedule) responder(id int64) Responder {
	if r, ok := s.Responders[id]; ok {
		return r
	}
	return Responder{ID: id}
}

// location returns the schedule's zone, UTC when it has none (which Validate rejects).
func (s *Schedule) location() *time.Location {
	if s.Location == nil {
		return time.UTC
	}
	return s.Location
}
