package report_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/report"
)

// The tests of issue 14's report findings, as DESIGN.md now states the behaviour. Fields are
// read from the stored JSON, the contract other services read.

// field returns the value at a dotted path of a report's stored body.
func field(t testing.TB, raw, path string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: no object at %q in %s", path, k, raw)
		}
		v = m[k]
	}
	return v
}

// Finding 6: a duration that comes out negative (acknowledged or resolved "before" the alert was
// created) is left out of the statistics and counted as a bad timestamp.
func TestNegativeDurationsAreBadTimestamps(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	f.alert("acme", "a", "2027-05-04T10:00:00Z", "2027-05-04T10:01:00Z", "2027-05-04T11:00:00Z")
	f.alert("acme", "b", "2027-05-04T10:00:00Z", "2027-05-04T09:58:00Z", "2027-05-04T09:00:00Z") // both before creation
	f.alert("acme", "c", "2027-05-04T12:00:00Z", "2027-05-04T12:03:00Z", "")
	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-05T00:10:00Z")
	r := f.report("acme", "2027-05-04T00:00:00Z")
	b := r.Body

	tta, ttr := b.TimeToAcknowledge, b.TimeToResolve
	if tta.Count != 2 || *tta.MeanSeconds != 120 || *tta.P50Seconds != 120 || *tta.P90Seconds != 168 {
		t.Fatalf("time to acknowledge %s", jsonOf(t, tta))
	}
	if ttr.Count != 1 || *ttr.MeanSeconds != 3600 {
		t.Fatalf("time to resolve %s", jsonOf(t, ttr))
	}
	// The acknowledgements and resolutions happened in the day all the same.
	if b.Alerts.Acknowledged != 3 || b.Alerts.Resolved != 2 {
		t.Fatalf("alerts %s", jsonOf(t, b.Alerts))
	}
	for _, path := range []string{"time_to_acknowledge.bad_timestamps", "time_to_resolve.bad_timestamps"} {
		if got := field(t, r.Raw, path); got != float64(1) {
			t.Fatalf("%s = %v, want 1", path, got)
		}
	}
	for _, want := range []string{
		"Time to acknowledge: 2 alerts, mean 2m0s, p50 2m0s, p90 2m48s (1 bad timestamp left out: stamped before the alert was created)",
		"Time to resolve: 1 alert, mean 1h0m0s, p50 1h0m0s, p90 1h0m0s (1 bad timestamp left out: stamped before the alert was created)",
	} {
		if !strings.Contains(r.Text, want) {
			t.Fatalf("text lacks %q:\n%s", want, r.Text)
		}
	}
}

// Finding 6: after a change of the tenant's zone, reports tile time: the first day in the new
// zone starts where the last one in the old zone ended (and says so), so no alert is counted in
// two reports or in none. East (UTC to Asia/Tokyo) the day is shorter, west (UTC to
// America/Los_Angeles) longer.
func TestZoneChangeTilesReports(t *testing.T) {
	for _, tc := range []struct {
		zone       string
		firstDate  string
		firstStart string  // the tiled day's start: the end of the UTC report of 05-09
		firstHours float64 // its length
	}{
		{"Asia/Tokyo", "2027-05-10", "2027-05-10T00:00:00Z", 15},
		{"America/Los_Angeles", "2027-05-10", "2027-05-10T00:00:00Z", 31},
	} {
		t.Run(tc.zone, func(t *testing.T) {
			f := newFixture(t)
			f.tenant("acme", "UTC")
			f.exec(`insert into alerts (tenant_id, source, summary, created_at, next_escalation_at)
			        select 'acme', 'hourly', 'alert', g, null
			        from generate_series(timestamptz '2027-05-06T00:30:00Z', '2027-05-15T00:30:00Z', interval '1 hour') g`)
			task := report.New(f.pool, report.Options{CatchupDays: 3})
			f.run(task, "2027-05-10T01:00:00Z") // 05-07 to 05-09 in UTC
			f.exec(`update tenants set time_zone = $1`, tc.zone)
			for _, at := range []string{"2027-05-11T01:00:00Z", "2027-05-12T01:00:00Z", "2027-05-13T12:00:00Z"} {
				f.run(task, at)
			}

			rows, err := f.pool.Query(f.ctx, `
				select period_date::text, period_start, period_end, body::text from reports where tenant_id = 'acme' order by period_start`)
			if err != nil {
				t.Fatal(err)
			}
			type rep struct {
				date       string
				start, end time.Time
				raw        string
			}
			var reps []rep
			for rows.Next() {
				var r rep
				if err := rows.Scan(&r.date, &r.start, &r.end, &r.raw); err != nil {
					t.Fatal(err)
				}
				reps = append(reps, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if len(reps) < 5 {
				t.Fatalf("%d reports", len(reps))
			}
			var counted float64
			var list []string
			for i, r := range reps {
				list = append(list, fmt.Sprintf("%s [%s, %s)", r.date, r.start.UTC().Format(time.RFC3339), r.end.UTC().Format(time.RFC3339)))
				counted += field(t, r.raw, "alerts.triggered").(float64)
				if i > 0 && !reps[i-1].end.Equal(r.start) {
					t.Errorf("reports do not tile: %s ends at %s, %s starts at %s", reps[i-1].date, reps[i-1].end.UTC(), r.date, r.start.UTC())
				}
			}
			first, last := reps[0].start, reps[len(reps)-1].end
			if exist := f.id(`select count(*) from alerts where created_at >= $1 and created_at < $2`, first, last); counted != float64(exist) {
				t.Errorf("%g alerts counted in reports covering [%s, %s), where %d were created", counted, first.UTC(), last.UTC(), exist)
			}
			if t.Failed() {
				t.Fatalf("reports:\n%s", strings.Join(list, "\n"))
			}

			for _, r := range reps {
				if r.date != tc.firstDate {
					continue
				}
				if !r.start.Equal(ts(t, tc.firstStart)) || field(t, r.raw, "period.hours") != tc.firstHours ||
					field(t, r.raw, "period.tiled.previous_time_zone") != "UTC" {
					t.Fatalf("first day in %s: %s", tc.zone, field(t, r.raw, "period"))
				}
				var text string
				if err := f.pool.QueryRow(f.ctx, `select text from reports where tenant_id = 'acme' and period_date = $1::date`, r.date).Scan(&text); err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(text, "Not the local day") || !strings.Contains(text, "starts where the previous report (UTC) ended") {
					t.Fatalf("text does not say the period is tiled:\n%s", text)
				}
				return
			}
			t.Fatalf("no report of %s:\n%s", tc.firstDate, strings.Join(list, "\n"))
		})
	}
}

// Finding 6: no report covers a day that ended before the tenant was created, however far back
// REPORT_CATCHUP_DAYS reaches; a tenant without created_at (an old one) is reported as far back
// as it reaches.
func TestCreatedAtLimitsCatchup(t *testing.T) {
	f := newFixture(t)
	f.exec(`insert into tenants (id, name, time_zone, created_at) values
	        ('new', 'New', 'UTC', '2027-05-09T12:00:00Z'),
	        ('midnight', 'Midnight', 'Asia/Tokyo', '2027-05-10T00:00:00+09:00')`)
	wantSummary(t, f.run(report.New(f.pool, report.Options{CatchupDays: 366}), "2027-05-12T01:00:00Z"),
		map[string]int{"reports_written": 5})
	if got, want := strings.Join(f.periods("new"), " "), "2027-05-09T00:00:00Z 2027-05-10T00:00:00Z 2027-05-11T00:00:00Z"; got != want {
		t.Fatalf("new: %s, want %s", got, want)
	}
	// Created at a local midnight: the day that ended then is not its.
	if got, want := strings.Join(f.periods("midnight"), " "), "2027-05-09T15:00:00Z 2027-05-10T15:00:00Z"; got != want {
		t.Fatalf("midnight: %s, want %s", got, want)
	}

	f.exec(`insert into tenants (id, name, time_zone, created_at) values ('old', 'Old', 'UTC', null)`)
	f.run(report.New(f.pool, report.Options{CatchupDays: 5}), "2027-05-12T01:00:00Z")
	if got := f.periods("old"); len(got) != 5 || got[0] != "2027-05-07T00:00:00Z" {
		t.Fatalf("old: %v", got)
	}
	// A tenant written without created_at gets the time of its insert.
	f.exec(`insert into tenants (id, name) values ('fresh', 'Fresh')`)
	if n := f.id(`select count(*) from tenants where id = 'fresh' and created_at is not null`); n != 1 {
		t.Fatal("created_at has no default")
	}
}
