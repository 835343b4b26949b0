package delivery

import (
	"fmt"
	"time"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/vocab"
)

// noticeTime is how a notice's text shows an instant: weekday, local time and the zone's
// abbreviation at that instant ("Tue 09:00 CET"), so a reader across a DST change reads it right.
const noticeTime = "Mon 15:04 MST"

// Text is the notice for people, times in the schedule's zone:
//
//	Carol is now on call for Primary until Tue 09:00 CET, after Alice.
//	Nobody is on call for Primary until Tue 18:00 CET, after Alice.
//	You are on call for Primary from Mon 09:00 CET to Tue 09:00 CET.
//
// Without a known end the "until"/"to" part is left out.
func (n Notice) Text() string { return n.text(plain) }

// text is Text with every name from data passed through esc (Slack's escaping, say).
func (n Notice) text(esc func(string) string) string {
	loc := location(n.Schedule.TimeZone)
	show := func(t time.Time) string { return t.In(loc).Format(noticeTime) }
	if n.Type == vocab.NoticeUpcoming.Type() {
		s := fmt.Sprintf("You are on call for %s from %s", esc(n.Schedule.Name), show(n.At))
		if n.Until != nil {
			s += " to " + show(*n.Until)
		}
		return s + "."
	}
	var s string
	if len(n.OnCall) == 0 {
		s = "Nobody is on call for " + esc(n.Schedule.Name)
	} else {
		s = fmt.Sprintf("%s is now on call for %s", esc(n.OnCall[0].Name), esc(n.Schedule.Name))
	}
	if n.Until != nil {
		s += " until " + show(*n.Until)
	}
	if len(n.OffCall) > 0 {
		s += ", after " + esc(n.OffCall[0].Name)
	}
	return s + "."
}

// followupTime is how a follow-up's text shows when the change was made.
const followupTime = "15:04 MST"

// Text is the follow-up for people, its time in zone (the tenant's):
//
//	Alert 12 [critical] disk full was acknowledged by Carol (via link) at 10:02 CEST
//	Alert 12 [critical] disk full was resolved (via service) at 10:40 CEST
//	Alert 12 [critical] disk full was triggered again (via ack_timeout) at 10:32 CEST
func (f Followup) Text(zone string) string { return f.text(zone, plain) }

// text is Text with the summary, severity and name passed through esc.
func (f Followup) text(zone string, esc func(string) string) string {
	what := "changed"
	switch vocab.FollowupType(f.Type) {
	case vocab.FollowupAcknowledged:
		what = "acknowledged"
	case vocab.FollowupResolved:
		what = "resolved"
	case vocab.FollowupRetriggered:
		what = "triggered again"
	}
	s := fmt.Sprintf("Alert %d [%s] %s was %s", f.Alert.ID, esc(f.Alert.Severity), esc(f.Alert.Summary), what)
	if f.By != nil && *f.By != "" {
		s += " by " + esc(*f.By)
	}
	if f.Via != "" {
		s += " (via " + esc(f.Via) + ")"
	}
	return s + " at " + f.At.In(location(zone)).Format(followupTime)
}

// location is the zone named name, UTC when it is not one.
func location(name string) *time.Location {
	loc, err := civil.LoadLocation(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

func plain(s string) string { return s }
