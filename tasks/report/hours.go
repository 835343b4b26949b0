package report

import "time"

// Hour buckets of HourSplit, as pagesSQL names them.
const (
	bucketBusiness = "business"
	bucketOff      = "off"
	bucketSleep    = "sleep"
)

// hourBuckets cuts [start, end) into the stretches of each hour bucket, by the local time of loc:
// sleep 22:00-08:00, business Monday to Friday 08:00-18:00, off the rest. It returns each
// stretch's first instant, in order (the first is start), and its bucket: pagesSQL finds a
// page's bucket with width_bucket over the edges. A period is usually one local day, but a tiled
// one (see tile) may begin on the local day before or end on the day after, and each local date
// has its own edges (a weekday's business hours are not a Sunday's).
func hourBuckets(start, end time.Time, loc *time.Location) (edges []time.Time, buckets []string) {
	add := func(from, to time.Time, bucket string) {
		from, to = maxTime(from, start), minTime(to, end)
		if !to.After(from) {
			return
		}
		if n := len(buckets); n > 0 && buckets[n-1] == bucket {
			return // one stretch continues: 22:00 to the next 08:00 is one sleep
		}
		edges, buckets = append(edges, from), append(buckets, bucket)
	}
	last := dateOf(end.In(loc))
	for date := dateOf(start.In(loc)); !last.before(date); date = date.addDays(1) {
		at := func(hour int) time.Time { return localInstant(date, hour, loc) }
		add(at(0), at(8), bucketSleep)
		if wd := date.weekday(); wd == time.Saturday || wd == time.Sunday {
			add(at(8), at(22), bucketOff)
		} else {
			add(at(8), at(18), bucketBusiness)
			add(at(18), at(22), bucketOff)
		}
		add(at(22), localInstant(date.addDays(1), 0, loc), bucketSleep)
	}
	return edges, buckets
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
