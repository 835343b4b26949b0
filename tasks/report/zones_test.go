package report_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/tasks/report"
)

// TestNewYorkFallBack: 2027-11-07 in America/New_York runs from 00:00 EDT to 00:00 EST, 25
// hours. 01:30 happens twice (EDT, then EST) and both belong to it; 23:30 the evening before
// belongs to the day before. A day is written only once its end has passed.
func TestNewYorkFallBack(t *testing.T) {
	f := newFixture(t)
	f.tenant("ny", "America/New_York")
	alice := f.responder("ny", "Alice")
	bob := f.responder("ny", "Bob")
	a := f.alert("ny", "first-0130", "2027-11-07T01:30:00-04:00", "2027-11-07T01:31:00-04:00", "")
	f.alert("ny", "second-0130", "2027-11-07T01:30:00-05:00", "2027-11-07T01:32:00-05:00", "")
	f.alert("ny", "evening", "2027-11-06T23:30:00-04:00", "", "")
	f.alert("ny", "late", "2027-11-07T23:30:00-05:00", "", "")
	f.page("ny", a, alice, "2027-11-07T01:30:00-04:00") // sleep
	f.page("ny", a, alice, "2027-11-07T09:00:00-05:00") // Sunday: off hours, not business
	f.page("ny", a, alice, "2027-11-07T22:30:00-05:00") // sleep
	f.page("ny", a, bob, "2027-11-06T23:30:00-04:00")   // the day before (Saturday): sleep
	// Daily handoff at 09:00 local, Bob from 11-06, Alice from 11-07: on 11-07 Bob until 09:00 EST
	// (10 h after 00:00 EDT), then Alice (15 h).
	s := f.schedule("ny", "NY", "America/New_York")
	f.layer(s, 1, "2027-11-06T09:00:00-04:00", 1, "day", "", bob, alice)

	task := report.New(f.pool, report.Options{CatchupDays: 2})
	// One second before the end of 2027-11-07 (05:00 UTC): only 11-06 and 11-05 are finished.
	sum := f.run(task, "2027-11-08T04:59:59Z")
	wantSummary(t, sum, map[string]int{"reports_written": 2, "days_caught_up": 1})
	if got := f.periods("ny"); len(got) != 2 || got[0] != "2027-11-05T04:00:00Z" || got[1] != "2027-11-06T04:00:00Z" {
		t.Fatalf("periods %v", got)
	}
	sum = f.run(task, "2027-11-08T05:00:00Z")
	wantSummary(t, sum, map[string]int{"reports_written": 1, "days_caught_up": 0})

	sat := f.report("ny", "2027-11-06T00:00:00-04:00").Body
	if sat.Period.Hours != 24 || sat.Alerts.Triggered != 1 || sat.NoisiestSources[0].Source != "evening" ||
		sat.Pages.Total != 1 || sat.Pages.SleepHours != 1 {
		t.Fatalf("2027-11-06: %s", jsonOf(t, sat))
	}

	sun := f.report("ny", "2027-11-07T00:00:00-04:00")
	b := sun.Body
	if got := b.Period.Start.Format(time.RFC3339) + " " + b.Period.End.Format(time.RFC3339); got != "2027-11-07T00:00:00-04:00 2027-11-08T00:00:00-05:00" {
		t.Fatalf("period %s", got)
	}
	if !sun.PeriodEnd.Equal(ts(t, "2027-11-08T05:00:00Z")) || b.Period.Hours != 25 || b.Period.Date != "2027-11-07" || b.Period.TimeZone != "America/New_York" {
		t.Fatalf("period %s", jsonOf(t, b.Period))
	}
	// The two 01:30 alerts and the 23:30 one; acknowledged after 60 and 120 s.
	if b.Alerts.Triggered != 3 || b.Alerts.Acknowledged != 2 || *b.TimeToAcknowledge.MeanSeconds != 90 || *b.TimeToAcknowledge.P50Seconds != 90 ||
		*b.TimeToAcknowledge.P90Seconds != 114 || b.Alerts.OpenAtEnd != 4 {
		t.Fatalf("alerts %s %s", jsonOf(t, b.Alerts), jsonOf(t, b.TimeToAcknowledge))
	}
	// Per hour of the 25: the first 01:30 (EDT) is in hour 1, the second (EST) in hour 2, 23:30
	// EST in hour 24.
	if got := jsonOf(t, b.AlertsPerHour); got != jsonOf(t, perHour(25, map[int]int64{1: 1, 2: 1, 24: 1})) {
		t.Fatalf("alerts per hour %s", got)
	}
	if b.Pages.Total != 3 || b.Pages.BusinessHours != 0 || b.Pages.OffHours != 1 || b.Pages.SleepHours != 2 {
		t.Fatalf("pages %s", jsonOf(t, b.Pages))
	}
	on := b.Schedules[0].OnCall
	if len(on) != 2 || on[0].Name != "Alice" || on[0].Hours != 15 || on[1].Name != "Bob" || on[1].Hours != 10 || on[1].Seconds != 36000 {
		t.Fatalf("on call %s", jsonOf(t, on))
	}
	if until := b.Schedules[0].UpcomingUntil.Format(time.RFC3339); until != "2027-11-15T00:00:00-05:00" {
		t.Fatalf("upcoming until %s", until)
	}
}

// TestTokyo: Asia/Tokyo (UTC+9, no DST) days start at 15:00 UTC the day before.
func TestTokyo(t *testing.T) {
	f := newFixture(t)
	f.tenant("tk", "Asia/Tokyo")
	r := f.responder("tk", "Kenji")
	f.alert("tk", "before", "2027-05-03T14:59:59Z", "", "")
	a := f.alert("tk", "first", "2027-05-03T15:00:00Z", "", "")
	f.alert("tk", "last", "2027-05-04T14:59:59Z", "", "")
	f.alert("tk", "after", "2027-05-04T15:00:00Z", "", "")
	f.page("tk", a, r, "2027-05-03T22:59:59Z") // 07:59:59 JST Tuesday: sleep
	f.page("tk", a, r, "2027-05-03T23:00:00Z") // 08:00 JST: business
	f.page("tk", a, r, "2027-05-04T09:00:00Z") // 18:00 JST: off
	f.page("tk", a, r, "2027-05-04T13:00:00Z") // 22:00 JST: sleep

	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-04T15:00:00Z")
	got := f.report("tk", "2027-05-04T00:00:00+09:00")
	b := got.Body
	if b.Period.Start.Format(time.RFC3339) != "2027-05-04T00:00:00+09:00" || !got.PeriodStart.Equal(ts(t, "2027-05-03T15:00:00Z")) || b.Period.Hours != 24 {
		t.Fatalf("period %s", jsonOf(t, b.Period))
	}
	if b.Alerts.Triggered != 2 || len(b.NoisiestSources) != 2 || b.NoisiestSources[0].Source != "first" || b.NoisiestSources[1].Source != "last" {
		t.Fatalf("alerts %s %s", jsonOf(t, b.Alerts), jsonOf(t, b.NoisiestSources))
	}
	if b.Pages.Total != 4 || b.Pages.BusinessHours != 1 || b.Pages.OffHours != 1 || b.Pages.SleepHours != 2 {
		t.Fatalf("pages %s", jsonOf(t, b.Pages))
	}
	if got := f.periods("tk"); len(got) != 1 {
		t.Fatalf("periods %v", got)
	}
}

// TestZoneChangeDoesNotDuplicate: a date is reported once, whatever zone the tenant had then.
// After a tenant moves from UTC to Europe/Berlin every date starts two hours earlier; the dates
// already reported in UTC are not reported again, those not yet reported (newer and older) are,
// in the new zone, tiled against the UTC reports: 05-06 ends where 05-07 (UTC) starts, 26 hours
// long, and 05-10 starts where 05-09 (UTC) ended, 22 hours long.
func TestZoneChangeDoesNotDuplicate(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	wantSummary(t, f.run(report.New(f.pool, report.Options{CatchupDays: 3}), "2027-05-10T01:00:00Z"),
		map[string]int{"reports_written": 3})

	f.exec(`update tenants set time_zone = 'Europe/Berlin' where id = 'acme'`)
	task := report.New(f.pool, report.Options{CatchupDays: 5})
	// 00:30 on 05-11 in Berlin: 05-06 to 05-10 have ended there; 05-07 to 05-09 have reports.
	sum := f.run(task, "2027-05-11T00:30:00+02:00")
	wantSummary(t, sum, map[string]int{"reports_written": 2, "days_caught_up": 1, "days_held_back": 0})
	want := []string{
		"2027-05-06 Europe/Berlin 2027-05-05T22:00:00Z",
		"2027-05-07 UTC 2027-05-07T00:00:00Z",
		"2027-05-08 UTC 2027-05-08T00:00:00Z",
		"2027-05-09 UTC 2027-05-09T00:00:00Z",
		"2027-05-10 Europe/Berlin 2027-05-10T00:00:00Z",
	}
	if got := f.dates("acme"); !slices.Equal(got, want) {
		t.Fatalf("reports\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b := f.report("acme", "2027-05-10T02:00:00+02:00").Body
	if b.Period.Date != "2027-05-10" || b.Period.Hours != 22 || b.Period.Tiled == nil || b.Period.Tiled.PreviousTimeZone != "UTC" ||
		b.Period.Tiled.NextTimeZone != "" || b.Period.Tiled.LocalDayStart.Format(time.RFC3339) != "2027-05-10T00:00:00+02:00" {
		t.Fatalf("period %s", jsonOf(t, b.Period))
	}
	b = f.report("acme", "2027-05-06T00:00:00+02:00").Body
	if b.Period.Hours != 26 || b.Period.End.Format(time.RFC3339) != "2027-05-07T02:00:00+02:00" || b.Period.Tiled == nil ||
		b.Period.Tiled.NextTimeZone != "UTC" || b.Period.Tiled.PreviousTimeZone != "" {
		t.Fatalf("period %s", jsonOf(t, b.Period))
	}
	wantSummary(t, f.run(task, "2027-05-11T12:00:00+02:00"), map[string]int{"reports_written": 0})

	// Both unique keys: the date, and the contract's period_start.
	rows, err := f.pool.Query(f.ctx, `select indexdef from pg_indexes where tablename = 'reports' and indexdef like 'CREATE UNIQUE%'`)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"(tenant_id, kind, period_date)", "(tenant_id, kind, period_start)"} {
		if !slices.ContainsFunc(defs, func(d string) bool { return strings.HasSuffix(d, key) }) {
			t.Errorf("no unique index on %s: %v", key, defs)
		}
	}
}

// TestZoneChangeByADay: when a zone moves by 24 hours (Pacific/Kiritimati, UTC+14, to
// Pacific/Honolulu, UTC-10), a new date can be the very period an old report of another date
// covers. Nothing of it is left to report: the date is counted as covered, and the next date
// starts where the old report ended.
func TestZoneChangeByADay(t *testing.T) {
	f := newFixture(t)
	f.tenant("ki", "Pacific/Kiritimati")
	task := report.New(f.pool, report.Options{CatchupDays: 1})
	wantSummary(t, f.run(task, "2027-05-10T10:00:00Z"), map[string]int{"reports_written": 1}) // 05-10 in Kiritimati
	f.exec(`update tenants set time_zone = 'Pacific/Honolulu' where id = 'ki'`)

	// 05-09 in Honolulu: the same instants as Kiritimati's 05-10.
	wantSummary(t, f.run(task, "2027-05-10T10:00:00Z"), map[string]int{"reports_written": 0, "days_covered": 1, "tenants_failed": 0})
	if got := f.dates("ki"); !slices.Equal(got, []string{"2027-05-10 Pacific/Kiritimati 2027-05-09T10:00:00Z"}) {
		t.Fatalf("reports %v", got)
	}
	// Honolulu's 05-10 is reported (as Kiritimati's); its 05-11 starts where that report ended.
	wantSummary(t, f.run(report.New(f.pool, report.Options{CatchupDays: 2}), "2027-05-12T10:00:00Z"), map[string]int{"reports_written": 1})
	b := f.report("ki", "2027-05-10T00:00:00-10:00").Body
	if b.Period.Date != "2027-05-11" || b.Period.Hours != 48 || b.Period.Tiled.PreviousTimeZone != "Pacific/Kiritimati" {
		t.Fatalf("period %s", jsonOf(t, b.Period))
	}
}
