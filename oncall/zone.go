package oncall

import (
	"slices"
	"time"
)

// period is a stretch of instants [start, end) over which a zone keeps one UTC offset.
type period struct {
	start, end int64 // ever / never when unbounded
	off        int64 // UTC offset, nanoseconds, within ±maxOffset
}

// zone converts between instants and wall-clock times of one Location for the length of one
// computation. It remembers the periods it has looked up, so resolving hundreds of handoffs asks
// the Location only a handful of times. It belongs to one call and is never shared, which keeps
// Schedule free of hidden state.
type zone struct {
	loc  *time.Location
	ps   []period // sorted by start, disjoint, not necessarily contiguous
	last int      // index of the last period found: computations move forward in time
	buf  [8]period
}

// init prepares z for loc; a nil loc (which Validate rejects) is read as UTC rather than panic.
func (z *zone) init(loc *time.Location) {
	if loc == nil {
		loc = time.UTC
	}
	z.loc = loc
	z.ps = z.buf[:0]
	z.last = 0
}

// at returns the period containing instant u.
func (z *zone) at(u int64) period {
	if z.last < len(z.ps) {
		if p := z.ps[z.last]; p.start <= u && u < p.end {
			return p
		}
	}
	i, _ := slices.BinarySearchFunc(z.ps, u, func(p period, u int64) int {
		if p.end <= u {
			return -1
		}
		return 1
	})
	if i < len(z.ps) && z.ps[i].start <= u {
		z.last = i
		return z.ps[i]
	}
	p := z.lookup(u)
	// Keep the cache disjoint whatever bounds the Location reports.
	if i > 0 {
		p.start = max(p.start, z.ps[i-1].end)
	}
	if i < len(z.ps) {
		p.end = min(p.end, z.ps[i].start)
	}
	z.ps = slices.Insert(z.ps, i, p)
	z.last = i
	return p
}

// lookup asks the Location for the period containing u.
func (z *zone) lookup(u int64) period {
	p, ok := z.bounds(u)
	if ok {
		return p
	}
	// Go's ZoneBounds is wrong on the last day (UTC) of a leap year once a zone runs on its rule
	// rather than its table (after 2037: 2040-12-31, 2044-12-31, ...): it computes a year as 365
	// days and reports the period that ended at the start of that day. The offset is right. The
	// period goes on until the start of the first sane one later, unless the offset changes right
	// there, which a bisection on offsets then finds.
	p.start = u
	for step := nsHour; step <= 16*nsDay; step *= 2 {
		q, ok := z.bounds(u + step)
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
	p.end = u + nsHour // a Location broken some other way: keep every walk progressing
	return p
}

// bounds returns the period containing u as the Location reports it, and whether the report
// holds together (it contains u).
func (z *zone) bounds(u int64) (period, bool) {
	t := time.Unix(0, u).In(z.loc)
	s, e := t.ZoneBounds()
	p := period{start: boundNs(s, ever), end: boundNs(e, never), off: z.offset(u)}
	return p, p.start <= u && u < p.end
}

// offset returns the UTC offset at u, within what the computation believes.
func (z *zone) offset(u int64) int64 {
	_, off := time.Unix(0, u).In(z.loc).Zone()
	return clampInt64(int64(off)*int64(time.Second), -maxOffset, maxOffset)
}

// civil returns the wall-clock time at instant u.
func (z *zone) civil(u int64) int64 {
	return u + z.at(u).off
}

// resolve returns the instant of wall-clock time c: the first instant whose wall time is c or
// later. That is c's only instant on an ordinary day, its first occurrence when a fall-back makes
// it happen twice, and the first instant after the gap when a spring-forward skips it. Go's
// time.Date does neither of the last two (it takes the later offset in an overlap and shifts a
// gap time forward by the gap's length), so this walks the zone's periods itself.
//
// No instant before c-maxOffset can show wall time c, so the walk starts there and, within a
// period of offset o, the first instant at or after wall time c is max(start, c-o).
func (z *zone) resolve(c int64) int64 {
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
