package oncall

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/opsworker/opsworker/civil"
)

// Shifts returns the timeline over [from, to): contiguous, non-overlapping shifts that cover the
// window exactly, each with its responder or nil for a gap, consecutive shifts of one responder
// merged. It is empty when to <= from.
//
// The work is proportional to the events inside the window (handoffs, restriction window edges,
// override edges, layer starts and ends), so callers should pass windows of sane length: an
// hourly rotation has 8,760 handoffs a year.
func (s *Schedule) Shifts(from, to time.Time) []Shift {
	if s == nil || !from.Before(to) {
		return []Shift{}
	}
	loc := s.location()
	f, e := civil.ClampNano(from), civil.ClampNano(to)
	var segs []seg
	if f < e {
		var z civil.Zone
		z.Init(s.Location)
		buf := segPool.Get().(*[]seg)
		segs = s.timeline(&z, f, e, (*buf)[:0])
		defer func() {
			if cap(segs) <= maxPooledSegs {
				*buf = segs
				segPool.Put(buf)
			}
		}()
	} else {
		// The whole window lies beyond one edge of the model's range: one piece, as at the edge.
		u := min(f, maxNs-1)
		id, ok := s.onCallAt(u)
		segs = []seg{{start: f, end: e, who: id, ok: ok}}
	}
	return s.toShifts(segs, from.In(loc), to.In(loc), loc)
}

// segPool recycles the pieces a timeline is built from before it becomes Shifts: the report and
// escalation tasks ask for many timelines, each of hundreds of pieces.
var segPool = sync.Pool{New: func() any { return new([]seg) }}

// maxPooledSegs keeps a huge window's buffer from staying around.
const maxPooledSegs = 1 << 14

// seg is a piece of a timeline: who (when ok) is on call during [start, end).
type seg struct {
	start, end int64
	who        int64
	ok         bool
}

// appendSeg appends a piece, merging it into the last one when it continues it.
func appendSeg(segs []seg, sg seg) []seg {
	if n := len(segs); n > 0 {
		last := &segs[n-1]
		if last.end == sg.start && last.ok == sg.ok && (!sg.ok || last.who == sg.who) {
			last.end = sg.end
			return segs
		}
	}
	return append(segs, sg)
}

// timeline computes the final timeline over [f, e) by jumping from event to event: at each
// step every layer reports who it has and when that may next change, the highest-priority layer
// with someone wins, the overrides in effect are folded over it, and the step ends at the
// earliest next change of any of them.
func (s *Schedule) timeline(z *civil.Zone, f, e int64, out []seg) []seg {
	order := make([]*Layer, len(s.Layers))
	for i := range s.Layers {
		order[i] = &s.Layers[i]
	}
	slices.SortStableFunc(order, func(a, b *Layer) int { return cmp.Compare(b.Priority, a.Priority) })
	// Highest priority first. Cursors are not moved once made: they point into themselves.
	people := roster{m: s.Responders}
	cursors := make([]layerCursor, len(order))
	for i, l := range order {
		cursors[i].init(z, l, f, e, &people)
	}

	ovs := s.prepareOverrides(f, e, &people)
	var active []*Override
	ovNext := f // when the set of overrides in effect next changes

	for t := f; t < e; {
		next := e
		var id int64
		ok := false
		for i := range cursors {
			who, has, until := cursors[i].at(t)
			if has && !ok {
				id, ok = who, true
			}
			next = min(next, until)
		}
		if t >= ovNext {
			active, ovNext = overridesFrom(ovs, t, active[:0], e)
		}
		next = min(next, ovNext)
		if len(active) > 0 {
			id, ok = fold(id, ok, active)
		}
		out = appendSeg(out, seg{start: t, end: next, who: id, ok: ok})
		t = next
	}
	return out
}

// overridesFrom returns the overrides in effect at t (oldest first, as ovs is) and when that set
// next changes, at the latest e.
func overridesFrom(ovs []activeOverride, t int64, active []*Override, e int64) ([]*Override, int64) {
	next := e
	for _, a := range ovs {
		switch {
		case a.start > t:
			next = min(next, a.start)
		case t < a.end:
			active = append(active, a.o)
			next = min(next, a.end)
		}
	}
	return active, next
}

// layerCursor walks one layer through a window, forwards only: it knows the spans in which the
// layer is alive and unrestricted, and the shift it is in.
type layerCursor struct {
	r       rotation
	spans   []span // where the layer is alive: its life within the window, masked by restrictions
	one     [1]span
	stale   []bool // by participant index, whether that turn is empty (nil: none is)
	si      int    // the first span not over yet
	located bool   // whether k and kEnd hold a shift yet
	k       int64  // the current shift
	kEnd    int64  // handoff(k+1)
}

func (c *layerCursor) init(z *civil.Zone, l *Layer, f, e int64, people *roster) {
	if len(l.Participants) == 0 {
		return
	}
	for i, id := range l.Participants {
		if !people.has(id) {
			if c.stale == nil {
				c.stale = make([]bool, len(l.Participants))
			}
			c.stale[i] = true
		}
	}
	c.r = newRotation(z, l)
	lo, hi := max(f, c.r.start), min(e, c.r.end)
	switch {
	case lo >= hi:
	case len(l.Restrictions) > 0:
		c.spans = activeSpans(z, l.Restrictions, lo, hi)
	default:
		c.one[0] = span{lo, hi}
		c.spans = c.one[:]
	}
}

// at returns who the layer has at t, if anyone, and the instant after t at which that may next
// change. Calls must come with non-decreasing t. The turn of a stale participant is empty.
func (c *layerCursor) at(t int64) (who int64, ok bool, next int64) {
	for c.si < len(c.spans) && c.spans[c.si].end <= t {
		c.si++
	}
	if c.si == len(c.spans) {
		return 0, false, never
	}
	sp := c.spans[c.si]
	if t < sp.start {
		return 0, false, sp.start
	}
	switch {
	case !c.located:
		c.k, c.located = c.r.locate(t), true
		c.kEnd = c.r.handoff(c.k + 1)
	case t >= c.kEnd:
		// The next shift, most of the time; after a masked stretch or empty shifts, a jump.
		if after := c.r.handoff(c.k + 2); t < after {
			c.k, c.kEnd = c.k+1, after
		} else {
			c.k = c.r.locate(t)
			c.kEnd = c.r.handoff(c.k + 1)
		}
	}
	next = min(c.kEnd, sp.end)
	i := c.k % int64(len(c.r.who))
	if c.stale != nil && c.stale[i] {
		return 0, false, next
	}
	return c.r.who[i], true, next
}

// toShifts turns the pieces into Shifts in loc, the first starting at from and the last ending
// at to exactly (they differ from the pieces' edges only where the window leaves the model's
// range). Shifts of one responder share one Responder value.
func (s *Schedule) toShifts(segs []seg, from, to time.Time, loc *time.Location) []Shift {
	var people responders
	out := make([]Shift, len(segs))
	start := from
	for i, sg := range segs {
		end := time.Unix(0, sg.end).In(loc)
		out[i] = Shift{Start: start, End: end} // pieces are contiguous: one conversion each
		if sg.ok {
			out[i].Responder = people.get(s, sg.who)
		}
		start = end
	}
	out[len(out)-1].End = to
	return out
}

// responders hands out one *Responder per responder id of a timeline: a timeline has many
// shifts and few people.
type responders struct {
	few  []*Responder
	many map[int64]*Responder // once there are more than a handful
}

func (p *responders) get(s *Schedule, id int64) *Responder {
	if p.many != nil {
		if r, ok := p.many[id]; ok {
			return r
		}
	} else {
		for _, r := range p.few {
			if r.ID == id {
				return r
			}
		}
	}
	r := new(Responder)
	*r = s.responder(id)
	r.ID = id // a mismatched Responders entry (which Validate rejects) must not break the lookup
	if p.many == nil && len(p.few) < 16 {
		p.few = append(p.few, r)
		return r
	}
	if p.many == nil {
		p.many = make(map[int64]*Responder, 2*len(p.few))
		for _, x := range p.few {
			p.many[x.ID] = x
		}
	}
	p.many[id] = r
	return r
}
