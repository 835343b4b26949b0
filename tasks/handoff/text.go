package handoff

import (
	"fmt"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/vocab"
)

// textTime is how a notice's text shows an instant: weekday, local time and the zone's
// abbreviation at that instant ("Tue 09:00 CET"), so a reader across a DST change reads it right.
const textTime = "Mon 15:04 MST"

// Sentence is a notice's text for people, times in the schedule's zone:
//
//	Carol is now on call for Primary until Tue 09:00 CET, after Alice.
//	Nobody is on call for Primary until Tue 18:00 CET, after Alice.
//	You are on call for Primary from Mon 09:00 CET to Tue 09:00 CET.
//
// Without a known end the "until"/"to" part is left out.
func Sentence(n delivery.Notice) string {
	loc, err := civil.LoadLocation(n.Schedule.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	show := func(t time.Time) string { return t.In(loc).Format(textTime) }
	if n.Type == vocab.NoticeUpcoming.Type() {
		s := fmt.Sprintf("You are on call for %s from %s", n.Schedule.Name, show(n.At))
		if n.Until != nil {
			s += " to " + show(*n.Until)
		}
		return s + "."
	}
	var s string
	if len(n.OnCall) == 0 {
		s = "Nobody is on call for " + n.Schedule.Name
	} else {
		s = fmt.Sprintf("%s is now on call for %s", n.OnCall[0].Name, n.Schedule.Name)
	}
	if n.Until != nil {
		s += " until " + show(*n.Until)
	}
	if len(n.OffCall) > 0 {
		s += ", after " + n.OffCall[0].Name
	}
	return s + "."
}
