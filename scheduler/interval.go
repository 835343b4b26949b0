package scheduler

import "time"

// LongestInterval returns the longest time between two consecutive firings of the spec after
// from, looking a year (at most 1,000 firings) ahead: how long a healthy job may go without a
// run. A weekday spec's is the weekend, a spec that fires less than yearly gets the gap to its
// second firing. Zero when the spec does not fire twice.
func (s Spec) LongestInterval(from time.Time) time.Duration {
	if s.every > 0 {
		return s.every
	}
	end := from.AddDate(1, 0, 0)
	var longest time.Duration
	prev := s.Next(from)
	for i := 0; i < 1000 && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		if !next.Before(end) {
			break
		}
		prev = next
	}
	return longest
}
