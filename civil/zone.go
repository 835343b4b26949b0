package civil

import (
	"math"
	"slices"
	"time"
)

// MaxOffset bounds the UTC offsets a Zone believes; larger ones are clamped. Real zones stay
// within -12h..+14h. The bound keeps every search window finite whatever Location a caller
// builds (time.FixedZone accepts any offset).
const MaxOffset = 26 * time.Hour

const (
	nsHour    = int64(time.Hour)
	nsDay     = 24 * nsHour
	maxOffset = int64(MaxOffset)

	never = int64(math.MaxInt64) // the end of a zone period that never ends
	ever  = int64(math.MinInt64) // the start of a zone period that began before anything
)

// period is a stretch of instants [start, end) over which a zone keeps one UTC offset.
type period struct {
	start, end int64 // ever / never when unbounded
	off        int64 // UTC offset, nanoseconds, within ±maxOffset
}

// Zone converts between instants and wall-clock times of one Location in int64 form, for code
// that converts many times per computation (oncall resolves hundreds of handoffs for one
// timeline).
//
// An instant is a count of nanoseconds since the Unix epoch (time.Time.UnixNano); a civil time is
// a count of nanoseconds since 1970-01-01 00:00 of the calendar read as if it were UTC, so civil
// arithmetic is plain addition and a civil day always has 24 hours. Nanoseconds keep every
// boundary exact.
//
// A Zone remembers the zone periods it has looked up, so a computation asks the Location only a
// handful of times. It belongs to one computation and one goroutine. The zero Zone converts for
// UTC; Init prepares it for another Location.
//
// Its arithmetic holds for every instant and civil time at least two days inside what an int64
// of nanoseconds holds (1678 to 2262), and its answers are checked exact on the supported range.
// Closer to the ends of the int64 range they are meaningless, though every call still returns:
// the hot path spends no time guarding against them (callers clamp their inputs once).
type Zone struct {
	loc *time.Location
	// The periods found so far, sorted by start, disjoint, not necessarily contiguous: the
	// first n of buf, or more once there are more than buf holds. (A slice of buf kept in the
	// Zone would point into itself and move every Zone to the heap.)
	buf  [8]period
	n    int
	more []period
	last int // index of the last period found: computations move forward in time
}

// Init prepares z for loc, forgetting what it knew; a nil loc is read as UTC.
func (z *Zone) Init(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	z.loc = loc
	z.n = 0
	z.more = z.more[:0]
	z.last = 0
}

// location returns the zone z converts for: UTC for the zero Zone.
func (z *Zone) location() *time.Location {
	if z.loc == nil {
		return time.UTC
	}
	return z.loc
}

// periods returns the periods found so far.
func (z *Zone) periods() []period {
	if z.more != nil {
		return z.more
	}
	return z.buf[:z.n]
}

// insert puts p into the periods at index i.
func (z *Zone) insert(i int, p period) {
	if z.more == nil && z.n < len(z.buf) {
		copy(z.buf[i+1:z.n+1], z.buf[i:z.n])
		z.buf[i] = p
		z.n++
		return
	}
	if z.more == nil {
		z.more = make([]period, z.n, 4*len(z.buf))
		copy(z.more, z.buf[:z.n])
	}
	z.more = slices.Insert(z.more, i, p)
}

// Offset returns the UTC offset at instant u, in nanoseconds.
func (z *Zone) Offset(u int64) int64 {
	return z.at(u).off
}

// Civil returns the wall-clock time at instant u.
func (z *Zone) Civil(u int64) int64 {
	return u + z.at(u).off
}

// Resolve returns the instant of civil time c: the first instant whose wall time is c or
// later. That is c's only instant on an ordinary day, its first occurrence when a fall-back
// makes it happen twice, and the first instant after the gap when a spring-forward skips it.
//
// No instant before c-MaxOffset can show wall time c, so the walk starts there and, within a
// period of offset o, the first instant at or after wall time c is max(start, c-o).
func (z *Zone) Resolve(c int64) int64 {
	p := z.at(c - maxOffset - nsHour)
	for range 64 {
		u := max(p.start, c-p.off)
		if u < p.end {
			return u
		}
		p = z.at(p.end)
	}
	// Only a Location with dozens of transitions within two days gets here; any answer within
	// the search window keeps the callers progressing.
	return c - p.off
}

// at returns the period containing instant u.
func (z *Zone) at(u int64) period {
	ps := z.periods()
	if z.last < len(ps) {
		if p := ps[z.last]; p.start <= u && u < p.end {
			return p
		}
	}
	i, _ := slices.BinarySearchFunc(ps, u, func(p period, u int64) int {
		if p.end <= u {
			return -1
		}
		return 1
	})
	if i < len(ps) && ps[i].start <= u {
		z.last = i
		return ps[i]
	}
	p := z.lookup(u)
	// Keep the cache disjoint whatever bounds the Location reports.
	if i > 0 {
		p.start = max(p.start, ps[i-1].end)
	}
	if i < len(ps) {
		p.end = min(p.end, ps[i].start)
	}
	z.insert(i, p)
	z.last = i
	return p
}

// lookup asks the Location for the period containing u.
func (z *Zone) lookup(u int64) period {
	p, ok := z.bounds(u)
	if ok {
		return p
	}
	// Go's ZoneBounds is wrong on the last day (UTC) of a leap year once a zone runs on its rule
	// rather than its table (after 2037: 2040-12-31, 2044-12-31, ...): time.tzset takes every
	// year as 365 days long and reports the period that ended at the start of that day. The
	// offset is right. The period goes on until the start of the first sane one later, unless
	// the offset changes right there, which a bisection on offsets then finds.
	p.start = u
	for step := nsHour; step <= 16*nsDay; step *= 2 {
		q, ok := z.bounds(addSat(u, step))
		if !ok || q.start <= u {
			continue
		}
		if q.off == p.off {
			p.end = q.start
			return p
		}
		lo, hi := u, q.start // offset p.off at lo, another at hi
		for hi-lo > 1 {
			mid := lo + (hi-lo)/2
			if z.offset(mid) == p.off {
				lo = mid
			} else {
				hi = mid
			}
		}
		p.end = hi
		return p
	}
	p.end = addSat(u, nsHour) // a Location broken some other way: keep every walk progressing
	return p
}

// bounds returns the period containing u as the Location reports it, and whether the report
// holds together (it contains u).
func (z *Zone) bounds(u int64) (period, bool) {
	t := time.Unix(0, u).In(z.location())
	s, e := t.ZoneBounds()
	p := period{start: boundNs(s, ever), end: boundNs(e, never), off: z.offset(u)}
	return p, p.start <= u && u < p.end
}

// offset returns the UTC offset at u as the Location reports it, clamped to ±MaxOffset.
func (z *Zone) offset(u int64) int64 {
	_, off := time.Unix(0, u).In(z.location()).Zone()
	return min(max(int64(off)*int64(time.Second), -maxOffset), maxOffset)
}

// The instants an int64 of nanoseconds holds.
var (
	nanoMin = time.Unix(0, math.MinInt64)
	nanoMax = time.Unix(0, math.MaxInt64)
)

// boundNs converts a zone period bound, where the zero Time means unbounded, to nanoseconds
// since the epoch. A bound is an edge of the zone's data, not an instant anyone asked about (those
// are clamped once, by ClampNano): one beyond what an int64 of nanoseconds holds is unbounded.
func boundNs(t time.Time, unbounded int64) int64 {
	switch {
	case t.IsZero():
		return unbounded
	case t.Before(nanoMin):
		return ever
	case t.After(nanoMax):
		return never
	}
	return t.UnixNano()
}

// addSat is a+b saturated to the int64 range.
func addSat(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return never
		}
		return ever
	}
	return s
}
