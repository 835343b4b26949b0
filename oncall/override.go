package oncall

import (
	"slices"

	"github.com/opsworker/opsworker/civil"
)

// older orders overrides by age: CreatedAt, then ID. It is a strict weak order, so a stable sort
// leaves exact duplicates (which Validate rejects) in slice order, deterministically.
func older(a, b *Override) int {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// activeOverride is an override prepared for one computation.
type activeOverride struct {
	start, end int64
	o          *Override
}

// prepareOverrides returns the overrides of s that are in effect somewhere in [from, to),
// oldest first, leaving out those that name a stale id.
func (s *Schedule) prepareOverrides(from, to int64, people *roster) []activeOverride {
	out := make([]activeOverride, 0, len(s.Overrides))
	for i := range s.Overrides {
		o := &s.Overrides[i]
		start, end := civil.ClampNano(o.Start), civil.ClampNano(o.End)
		if start < end && start < to && end > from && people.admits(o) {
			out = append(out, activeOverride{start, end, o})
		}
	}
	slices.SortStableFunc(out, func(a, b activeOverride) int { return older(a.o, b.o) })
	return out
}

// fold applies the overrides in effect at an instant, oldest first, to who the layers put on
// call there (id, ok). A whole-schedule override puts its responder on call. A replacing one
// applies when its replaced responder is the one on call at that point of the fold or one that
// person stands in for: standing in is transitive, so a newer stand-in for Z still wins over an
// older stand-in for Z, while a whole-schedule override starts afresh (whoever the layers named is
// then no longer on call to be replaced).
func fold(id int64, ok bool, active []*Override) (int64, bool) {
	var buf [8]int64
	standsFor := buf[:0] // the person on call and everyone they stand in for
	if ok {
		standsFor = append(standsFor, id)
	}
	for _, o := range active {
		if o.ReplacesResponderID == 0 {
			id, ok = o.ResponderID, true
			standsFor = append(standsFor[:0], id)
			continue
		}
		if ok && slices.Contains(standsFor, o.ReplacesResponderID) {
			id = o.ResponderID
			standsFor = append(standsFor, id)
		}
	}
	return id, ok
}
