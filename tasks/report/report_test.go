package report_test

import (
	"strings"
	"testing"

	"github.com/opsworker/opsworker/tasks/report"
)

// mix seeds two UTC tenants for Tuesday 2027-05-04: "acme" with a known mix of alerts, events,
// pages and schedules, and "beta" with different, smaller numbers (for isolation). Each expected
// number is derived by hand in the comments of TestDayMix and TestTenantIsolation.
type mix struct {
	alice, bob, carol, dave int64
	primary, secondary      int64
	broken, betaSched       int64
}

func seedMix(f *fixture) mix {
	var m mix
	f.tenant("acme", "UTC")
	f.tenant("beta", "UTC")
	m.alice = f.responder("acme", "Alice")
	m.bob = f.responder("acme", "Bob")
	m.carol = f.responder("acme", "Carol")
	m.dave = f.responder("beta", "Dave")

	// acme's alerts:          source  created                 acknowledged              resolved
	a1 := f.alert("acme", "db", "2027-05-04T10:00:00Z", "2027-05-04T10:01:00.5Z", "2027-05-04T10:05:00Z")
	f.alert("acme", "db", "2027-05-04T10:00:00Z", "2027-05-04T10:02:00Z", "2027-05-04T10:15:00Z")
	f.alert("acme", "api", "2027-05-04T11:00:00Z", "2027-05-04T11:03:00Z", "2027-05-04T11:30:00Z")
	f.alert("acme", "db", "2027-05-04T12:00:00Z", "2027-05-04T12:04:00Z", "2027-05-04T13:00:00Z")
	a5 := f.alert("acme", "api", "2027-05-04T13:00:00Z", "2027-05-04T13:10:00Z", "")
	a6 := f.alert("acme", "web", "2027-05-04T14:00:00Z", "", "")
	a7 := f.alert("acme", "old", "2027-05-03T23:00:00Z", "2027-05-04T00:30:00Z", "")
	f.alert("acme", "old", "2027-05-03T22:00:00Z", "2027-05-03T22:10:00Z", "2027-05-04T01:00:00Z")
	f.alert("acme", "cron", "2027-05-04T23:00:00Z", "2027-05-05T00:05:00Z", "")
	f.alert("acme", "alpha", "2027-05-04T20:00:00Z", "", "2027-05-05T00:05:00Z")
	a11 := f.alert("acme", "old", "2027-05-02T10:00:00Z", "", "")
	f.alert("acme", "late", "2027-05-05T00:01:00Z", "", "")
	f.alert("acme", "Zeta", "2027-05-04T15:00:00Z", "", "")

	f.event("acme", a1, "2027-05-04T10:00:00Z", "escalated", 0)
	f.event("acme", a5, "2027-05-04T13:00:00Z", "escalated", 0)
	f.event("acme", a5, "2027-05-04T13:05:00Z", "escalated", 1)
	f.event("acme", a5, "2027-05-04T13:40:00Z", "ack_timeout", -1)
	f.event("acme", a6, "2027-05-04T14:00:00Z", "escalated", 0)
	f.event("acme", a6, "2027-05-04T14:00:00Z", "no_one_on_call", 0)
	f.event("acme", a6, "2027-05-04T14:05:00Z", "escalated", 1)
	f.event("acme", a6, "2027-05-04T14:10:00Z", "escalated", 2)
	f.event("acme", a6, "2027-05-04T14:20:00Z", "policy_exhausted", 2)
	f.event("acme", a6, "2027-05-04T14:30:00Z", "policy_exhausted", 2) // the same alert again
	f.event("acme", a7, "2027-05-03T23:00:00Z", "escalated", 0)        // the day before
	f.event("acme", a11, "2027-05-04T03:00:00Z", "policy_exhausted", 0)

	f.page("acme", a1, m.alice, "2027-05-04T03:00:00Z") // sleep
	f.page("acme", a1, m.alice, "2027-05-04T09:00:00Z") // business
	f.page("acme", a1, m.alice, "2027-05-04T17:59:59Z") // business
	f.page("acme", a1, m.alice, "2027-05-04T18:00:00Z") // off
	f.page("acme", a1, m.bob, "2027-05-04T07:59:59Z")   // sleep
	f.page("acme", a1, m.bob, "2027-05-04T08:00:00Z")   // business
	f.page("acme", a1, m.bob, "2027-05-04T21:59:59Z")   // off
	f.page("acme", a1, m.bob, "2027-05-04T22:00:00Z")   // sleep
	f.page("acme", a1, m.carol, "2027-05-04T12:00:00Z") // business
	f.page("acme", a1, m.carol, "2027-05-03T23:59:59Z") // the day before
	f.page("acme", a1, m.carol, "2027-05-05T00:00:00Z") // the day after

	// Primary: daily handoff at 09:00 UTC, Alice then Bob: Alice 00:00-09:00, Bob 09:00-24:00.
	m.primary = f.schedule("acme", "Primary", "UTC")
	f.layer(m.primary, 1, "2027-05-03T09:00:00Z", 1, "day", "", m.alice, m.bob)
	// Secondary: Carol from 06:00 until 10:00 tomorrow, Bob (a lower layer) from 14:00 tomorrow:
	// a gap 00:00-06:00 today and 10:00-14:00 tomorrow.
	m.secondary = f.schedule("acme", "Secondary", "UTC")
	f.layer(m.secondary, 1, "2027-05-04T06:00:00Z", 1, "day", "2027-05-05T10:00:00Z", m.carol)
	f.layer(m.secondary, 0, "2027-05-05T14:00:00Z", 1, "day", "", m.bob)
	// Broken: its rotation starts outside the supported range.
	m.broken = f.schedule("acme", "Broken", "UTC")
	f.layer(m.broken, 1, "1850-01-01T00:00:00Z", 1, "day", "", m.alice)

	// beta's data.
	b1 := f.alert("beta", "beta-src", "2027-05-04T05:00:00Z", "2027-05-04T05:00:07Z", "2027-05-04T05:01:10Z")
	b2 := f.alert("beta", "beta-src", "2027-05-04T06:00:00Z", "", "")
	f.event("beta", b1, "2027-05-04T05:00:00Z", "escalated", 0)
	f.event("beta", b2, "2027-05-04T06:00:00Z", "escalated", 3)
	f.page("beta", b1, m.dave, "2027-05-04T19:00:00Z") // off
	m.betaSched = f.schedule("beta", "Beta", "UTC")
	f.layer(m.betaSched, 1, "2027-05-01T00:00:00Z", 1, "day", "", m.dave)
	return m
}

// TestDayMix checks every number of a report against values computed by hand.
func TestDayMix(t *testing.T) {
	f := newFixture(t)
	m := seedMix(f)
	task := report.New(f.pool, report.Options{CatchupDays: 1})
	sum := f.run(task, "2027-05-05T00:10:00Z")
	wantSummary(t, sum, map[string]int{"tenants": 2, "reports_written": 2, "days_caught_up": 0, "tenants_failed": 0, "schedules_failed": 1})

	got := f.report("acme", "2027-05-04T00:00:00Z")
	if got.PeriodEnd.UTC().Format("2006-01-02T15:04:05Z07:00") != "2027-05-05T00:00:00Z" || got.TimeZone != "UTC" ||
		!got.GeneratedAt.Equal(ts(t, "2027-05-05T00:10:00Z")) {
		t.Fatalf("row: end %s zone %s generated %s", got.PeriodEnd, got.TimeZone, got.GeneratedAt)
	}
	b := got.Body
	b.GeneratedAt = ts(t, "2027-05-05T00:10:00Z")
	want := report.Body{
		Kind:        "daily",
		Tenant:      report.Tenant{ID: "acme", Name: "Tenant acme"},
		GeneratedAt: ts(t, "2027-05-05T00:10:00Z"),
		Period: report.Period{Date: "2027-05-04", Start: ts(t, "2027-05-04T00:00:00Z"), End: ts(t, "2027-05-05T00:00:00Z"),
			TimeZone: "UTC", Hours: 24},
		// Triggered: created in the day: a1-a6, cron, alpha, Zeta = 9. Acknowledged in the day:
		// a1-a5 and a7 (created the day before) = 6. Resolved in the day: a1-a4 and the alert
		// created at 22:00 the day before = 5. Open at the end: a5, a6, a7, cron (acknowledged
		// after the end), alpha (resolved after the end), a11 (two days old), Zeta = 7; "late"
		// was created after the end.
		Alerts: report.Alerts{Triggered: 9, Acknowledged: 6, Resolved: 5, OpenAtEnd: 7},
		// Created at 10 (two), 11, 12, 13, 14, 15, 20 and 23 o'clock.
		AlertsPerHour: perHour(24, map[int]int64{10: 2, 11: 1, 12: 1, 13: 1, 14: 1, 15: 1, 20: 1, 23: 1}),
		// Time to acknowledge: 60.5, 120, 180, 240, 600, 5400 s. Mean 6600.5/6 = 1100.0833...
		// -> 1100.083. p50: position 0.5*5 = 2.5, halfway 180..240 = 210. p90: position 4.5,
		// halfway 600..5400 = 3000.
		TimeToAcknowledge: report.Durations{Count: 6, MeanSeconds: ptr(1100.083), P50Seconds: ptr(210.0), P90Seconds: ptr(3000.0)},
		// Time to resolve: 300, 900, 1800, 3600, 10800 s. Mean 17400/5 = 3480. p50: position 2
		// = 1800. p90: position 3.6 = 3600 + 0.6*(10800-3600) = 7920.
		TimeToResolve: report.Durations{Count: 5, MeanSeconds: ptr(3480.0), P50Seconds: ptr(1800.0), P90Seconds: ptr(7920.0)},
		// Escalated in the day: step 0 a1, a5, a6; step 1 a5, a6; step 2 a6 (a7's is the day
		// before). Exhausted: a6 (twice, one alert) and a11 = 2. One ack timeout.
		Escalations: report.Escalations{Total: 6, ByStep: []report.StepCount{{Step: ptr(int32(0)), Count: 3}, {Step: ptr(int32(1)), Count: 2}, {Step: ptr(int32(2)), Count: 1}},
			PoliciesExhausted: 2, AckTimeouts: 1},
		// Tuesday: business 08:00-18:00, off 18:00-22:00, sleep 22:00-08:00. Alice and Bob tie at
		// 4, ordered by id.
		Pages: report.Pages{Total: 9, Unreached: []report.UnreachedPage{}, HourSplit: report.HourSplit{BusinessHours: 4, OffHours: 2, SleepHours: 3},
			ByResponder: []report.ResponderPages{
				{ResponderID: m.alice, Name: "Alice", Total: 4, HourSplit: report.HourSplit{BusinessHours: 2, OffHours: 1, SleepHours: 1}},
				{ResponderID: m.bob, Name: "Bob", Total: 4, HourSplit: report.HourSplit{BusinessHours: 1, OffHours: 1, SleepHours: 2}},
				{ResponderID: m.carol, Name: "Carol", Total: 1, HourSplit: report.HourSplit{BusinessHours: 1}},
			}},
		// db 3, api 2, then the ties at 1 in byte order: Zeta < alpha < cron < web (web is 6th).
		NoisiestSources: []report.SourceCount{{"db", 3}, {"api", 2}, {"Zeta", 1}, {"alpha", 1}, {"cron", 1}},
		Deliveries:      []report.DeliveryCount{},
		Schedules: []report.ScheduleReport{
			{ID: m.primary, Name: "Primary", Problems: []string{},
				OnCall:       []report.OnCallTime{{ResponderID: m.bob, Name: "Bob", Seconds: 15 * 3600, Hours: 15}, {ResponderID: m.alice, Name: "Alice", Seconds: 9 * 3600, Hours: 9}},
				Gaps:         []report.Gap{},
				UpcomingGaps: []report.Gap{}, UpcomingUntil: ts(t, "2027-05-12T00:00:00Z")},
			{ID: m.secondary, Name: "Secondary", Problems: []string{},
				OnCall:        []report.OnCallTime{{ResponderID: m.carol, Name: "Carol", Seconds: 18 * 3600, Hours: 18}},
				Gaps:          []report.Gap{{Start: ts(t, "2027-05-04T00:00:00Z"), End: ts(t, "2027-05-04T06:00:00Z"), Hours: 6}},
				UpcomingGaps:  []report.Gap{{Start: ts(t, "2027-05-05T10:00:00Z"), End: ts(t, "2027-05-05T14:00:00Z"), Hours: 4}},
				UpcomingUntil: ts(t, "2027-05-12T00:00:00Z")},
		},
	}
	// The broken schedule's error comes from the oncall loader: check it names the problem, then
	// compare the rest exactly.
	if len(b.Schedules) != 3 || b.Schedules[2].ID != m.broken || !strings.Contains(b.Schedules[2].Error, "outside the supported range") ||
		len(b.Schedules[2].OnCall)+len(b.Schedules[2].Gaps)+len(b.Schedules[2].UpcomingGaps) != 0 {
		t.Fatalf("broken schedule: %s", jsonOf(t, b.Schedules))
	}
	b.Schedules = b.Schedules[:2]
	if g, w := jsonOf(t, b), jsonOf(t, want); g != w {
		t.Fatalf("acme's report:\n%s\nwant:\n%s", g, w)
	}
	// Buckets are disjoint and cover the day.
	for _, r := range b.Pages.ByResponder {
		if r.BusinessHours+r.OffHours+r.SleepHours != r.Total {
			t.Fatalf("%s: buckets do not sum to the total", r.Name)
		}
	}
	// The raw JSON keeps null lists as [] and snake_case names.
	for _, s := range []string{`"open_at_end": 7`, `"p90_seconds": 7920`, `"by_step": [`, `"upcoming_gaps": []`, `"business_hours": 4`} {
		if !strings.Contains(got.Raw, s) {
			t.Fatalf("body lacks %s: %s", s, got.Raw)
		}
	}
}

// TestTenantIsolation gives two tenants different data in the same day and checks that each
// report holds only its own tenant's numbers.
func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	m := seedMix(f)
	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-05T00:10:00Z")

	beta := f.report("beta", "2027-05-04T00:00:00Z").Body
	beta.GeneratedAt = ts(t, "2027-05-05T00:10:00Z")
	want := report.Body{
		Kind:        "daily",
		Tenant:      report.Tenant{ID: "beta", Name: "Tenant beta"},
		GeneratedAt: ts(t, "2027-05-05T00:10:00Z"),
		Period: report.Period{Date: "2027-05-04", Start: ts(t, "2027-05-04T00:00:00Z"), End: ts(t, "2027-05-05T00:00:00Z"),
			TimeZone: "UTC", Hours: 24},
		Alerts:            report.Alerts{Triggered: 2, Acknowledged: 1, Resolved: 1, OpenAtEnd: 1},
		AlertsPerHour:     perHour(24, map[int]int64{5: 1, 6: 1}),
		TimeToAcknowledge: report.Durations{Count: 1, MeanSeconds: ptr(7.0), P50Seconds: ptr(7.0), P90Seconds: ptr(7.0)},
		TimeToResolve:     report.Durations{Count: 1, MeanSeconds: ptr(70.0), P50Seconds: ptr(70.0), P90Seconds: ptr(70.0)},
		Escalations:       report.Escalations{Total: 2, ByStep: []report.StepCount{{Step: ptr(int32(0)), Count: 1}, {Step: ptr(int32(3)), Count: 1}}},
		Pages: report.Pages{Total: 1, Unreached: []report.UnreachedPage{}, HourSplit: report.HourSplit{OffHours: 1},
			ByResponder: []report.ResponderPages{{ResponderID: m.dave, Name: "Dave", Total: 1, HourSplit: report.HourSplit{OffHours: 1}}}},
		NoisiestSources: []report.SourceCount{{"beta-src", 2}},
		Deliveries:      []report.DeliveryCount{},
		Schedules: []report.ScheduleReport{{ID: m.betaSched, Name: "Beta", Problems: []string{},
			OnCall: []report.OnCallTime{{ResponderID: m.dave, Name: "Dave", Seconds: 24 * 3600, Hours: 24}},
			Gaps:   []report.Gap{}, UpcomingGaps: []report.Gap{}, UpcomingUntil: ts(t, "2027-05-12T00:00:00Z")}},
	}
	if g, w := jsonOf(t, beta), jsonOf(t, want); g != w {
		t.Fatalf("beta's report:\n%s\nwant:\n%s", g, w)
	}

	acme := f.report("acme", "2027-05-04T00:00:00Z")
	for _, s := range []string{"beta-src", `"Dave"`, `"Beta"`, `"step": 3`} {
		if strings.Contains(acme.Raw, s) || strings.Contains(acme.Text, strings.Trim(s, `"`)) {
			t.Fatalf("acme's report mentions beta's %s:\n%s\n%s", s, acme.Raw, acme.Text)
		}
	}
	if acme.Body.Alerts.Triggered != 9 || acme.Body.Pages.Total != 9 || acme.Body.Escalations.Total != 6 {
		t.Fatalf("acme's counts changed with beta's data: %+v", acme.Body.Alerts)
	}
}

// TestText checks the rendering for people: the key numbers, and short.
func TestText(t *testing.T) {
	f := newFixture(t)
	seedMix(f)
	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-05T00:10:00Z")
	text := f.report("acme", "2027-05-04T00:00:00Z").Text
	t.Logf("\n%s", text)
	for _, s := range []string{
		"Daily report: Tenant acme (acme), Tuesday 2027-05-04",
		"Period: 2027-05-04 00:00 UTC to 2027-05-05 00:00 UTC, UTC (24 h)",
		"Alerts: 9 triggered, 6 acknowledged, 5 resolved, 7 open at end of day",
		"Time to acknowledge: 6 alerts, mean 18m20.083s, p50 3m30s, p90 50m0s",
		"Time to resolve: 5 alerts, mean 58m0s, p50 30m0s, p90 2h12m0s",
		"Escalations: 6 (step 0: 3, step 1: 2, step 2: 1); policies exhausted: 2; ack timeouts: 1",
		"Pages: 9 (business hours 4, off hours 2, sleep hours 3)",
		"  Alice: 4 (business hours 2, off hours 1, sleep hours 1)",
		"Noisiest sources: db (3), api (2), Zeta (1), alpha (1), cron (1)",
		"Schedule Primary (#1): on call Bob 15h, Alice 9h",
		"  gaps that day: 2027-05-04 00:00–06:00 (6h)",
		"  gaps in the next 7 days: 2027-05-05 10:00–14:00 (4h)",
		"Schedule Broken (#3): ERROR oncall: schedule 3:",
	} {
		if !strings.Contains(text, s) {
			t.Errorf("text lacks %q", s)
		}
	}
	if n := strings.Count(text, "\n"); n > 40 {
		t.Errorf("text has %d lines", n)
	}
}

// perHour is a day's alerts per hour: n hours, the given ones set.
func perHour(n int, set map[int]int64) []int64 {
	out := make([]int64, n)
	for h, v := range set {
		out[h] = v
	}
	return out
}
