package report

import (
	"fmt"
	"strings"
	"time"
)

// Limits that keep the text a screenful whatever the day held; body has everything.
const (
	textResponders = 10 // responders listed under pages
	textGaps       = 4  // gaps listed per line
)

// render is the plain-text rendering of b for people: the same numbers as the JSON, one topic a
// line, at most a few dozen lines (lists are cut, saying how many were left out). Times are the
// tenant's local times.
func render(b *Body) string {
	var w strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&w, format+"\n", args...) }
	p := b.Period

	line("Daily report: %s (%s), %s %s", b.Tenant.Name, b.Tenant.ID, p.Start.Weekday(), p.Date)
	const stamp = "2006-01-02 15:04 MST"
	line("Period: %s to %s, %s (%g h)", p.Start.Format(stamp), p.End.Format(stamp), p.TimeZone, p.Hours)
	if tl := p.Tiled; tl != nil {
		var why []string
		if tl.PreviousTimeZone != "" {
			why = append(why, fmt.Sprintf("starts where the previous report (%s) ended", tl.PreviousTimeZone))
		}
		if tl.NextTimeZone != "" {
			why = append(why, fmt.Sprintf("ends where the next report (%s) starts", tl.NextTimeZone))
		}
		line("  Not the local day (%s to %s): the time zone changed, and the period %s.",
			tl.LocalDayStart.Format(stamp), tl.LocalDayEnd.Format(stamp), strings.Join(why, " and "))
	}
	line("")
	a := b.Alerts
	line("Alerts: %d triggered, %d acknowledged, %d resolved, %d open at end of day", a.Triggered, a.Acknowledged, a.Resolved, a.OpenAtEnd)
	line("Time to acknowledge: %s", durations(b.TimeToAcknowledge))
	line("Time to resolve: %s", durations(b.TimeToResolve))

	e := b.Escalations
	steps := make([]string, len(e.ByStep))
	for i, s := range e.ByStep {
		name := "step ?"
		if s.Step != nil {
			name = fmt.Sprintf("step %d", *s.Step)
		}
		steps[i] = fmt.Sprintf("%s: %d", name, s.Count)
	}
	byStep := ""
	if len(steps) > 0 {
		byStep = " (" + strings.Join(steps, ", ") + ")"
	}
	line("Escalations: %d%s; policies exhausted: %d; ack timeouts: %d", e.Total, byStep, e.PoliciesExhausted, e.AckTimeouts)

	pg := b.Pages
	line("Pages: %d (%s)", pg.Total, split(pg.HourSplit))
	for i, r := range pg.ByResponder {
		if i == textResponders {
			line("  ... and %d more responders", len(pg.ByResponder)-i)
			break
		}
		line("  %s: %d (%s)", responderName(r.Name, r.ResponderID), r.Total, split(r.HourSplit))
	}

	srcs := make([]string, len(b.NoisiestSources))
	for i, s := range b.NoisiestSources {
		srcs[i] = fmt.Sprintf("%s (%d)", s.Source, s.Alerts)
	}
	line("Noisiest sources: %s", orNone(strings.Join(srcs, ", ")))
	dels := make([]string, len(b.Deliveries))
	for i, d := range b.Deliveries {
		dels[i] = fmt.Sprintf("%s %d sent, %d failed, %d cancelled, %d pending", d.Channel, d.Sent, d.Failed, d.Cancelled, d.Pending)
	}
	line("Deliveries: %s", orNone(strings.Join(dels, "; ")))
	if b.Pages.UnreachedTotal > 0 {
		line("Pages that reached nobody: %d", b.Pages.UnreachedTotal)
		for _, u := range b.Pages.Unreached {
			line("  %s %s (alert %d): %s", u.PagedAt.Format("15:04"), responderName(u.Name, u.ResponderID), u.AlertID, u.Reason)
		}
	}

	for _, s := range b.Schedules {
		line("")
		if s.Error != "" {
			line("Schedule %s (#%d): ERROR %s", s.Name, s.ID, s.Error)
			continue
		}
		who := make([]string, len(s.OnCall))
		for i, o := range s.OnCall {
			who[i] = fmt.Sprintf("%s %gh", responderName(o.Name, o.ResponderID), o.Hours)
		}
		line("Schedule %s (#%d): on call %s", s.Name, s.ID, orNone(strings.Join(who, ", ")))
		line("  gaps that day: %s", gaps(s.Gaps))
		line("  gaps in the next 7 days: %s", gaps(s.UpcomingGaps))
		for _, p := range s.Problems {
			line("  problem: %s", p)
		}
	}
	return w.String()
}

func durations(d Durations) string {
	s := "none"
	if d.Count > 0 && d.MeanSeconds != nil {
		s = fmt.Sprintf("%d %s, mean %s, p50 %s, p90 %s", d.Count, plural(d.Count, "alert"),
			seconds(*d.MeanSeconds), seconds(*d.P50Seconds), seconds(*d.P90Seconds))
	}
	if d.BadTimestamps > 0 {
		s += fmt.Sprintf(" (%d %s left out: stamped before the alert was created)", d.BadTimestamps, plural(d.BadTimestamps, "bad timestamp"))
	}
	return s
}

func plural(n int64, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// seconds shows a number of seconds as a duration (to the millisecond, as stored): 200.5 is
// "3m20.5s".
func seconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func split(h HourSplit) string {
	return fmt.Sprintf("business hours %d, off hours %d, sleep hours %d", h.BusinessHours, h.OffHours, h.SleepHours)
}

func responderName(name string, id int64) string {
	if name == "" {
		return fmt.Sprintf("responder #%d", id)
	}
	return name
}

func gaps(gs []Gap) string {
	parts := make([]string, 0, min(len(gs), textGaps)+1)
	for i, g := range gs {
		if i == textGaps {
			parts = append(parts, fmt.Sprintf("and %d more", len(gs)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("%s (%gh)", span(g.Start, g.End), g.Hours))
	}
	return orNone(strings.Join(parts, ", "))
}

// span shows [a, b) compactly: the end's date only when it differs from the start's, and a
// midnight end as 24:00 of the start's date.
func span(a, b time.Time) string {
	const day, clock = "2006-01-02 15:04", "15:04"
	switch {
	case dateOf(a) == dateOf(b):
		return a.Format(day) + "–" + b.Format(clock)
	case b.Hour() == 0 && b.Minute() == 0 && b.Second() == 0 && dateOf(b).addDays(-1) == dateOf(a):
		return a.Format(day) + "–24:00"
	}
	return a.Format(day) + "–" + b.Format(day)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
