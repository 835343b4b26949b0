package worker

import (
	"fmt"
	"time"
)

// MaxFuture is how far ahead of the clock a manual run's instant may be without leave: a run
// stamps pages, events and reports with its instant, and a report task run as if in the future
// would cover days that have not ended. Tests, replays and demos ask for leave.
const MaxFuture = 5 * time.Minute

// CheckFuture refuses a run's instant at more than MaxFuture ahead of clock, unless allowed.
func CheckFuture(at, clock time.Time, allowed bool) error {
	if allowed || !at.After(clock.Add(MaxFuture)) {
		return nil
	}
	return fmt.Errorf("%s is %s ahead of the clock (at most %s without --allow-future: a run writes what it does with its instant, and a report would cover days that have not ended)",
		at.Format(time.RFC3339), at.Sub(clock).Round(time.Second), MaxFuture)
}
