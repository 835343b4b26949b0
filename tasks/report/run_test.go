package report_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/tasks/report"
)

// TestCatchup: a run fills at most CatchupDays finished days; after three missed days the next
// run writes exactly those three.
func TestCatchup(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	task := report.New(f.pool, report.Options{CatchupDays: 3})

	sum := f.run(task, "2027-05-10T01:00:00Z")
	wantSummary(t, sum, map[string]int{"tenants": 1, "reports_written": 3, "days_caught_up": 2, "tenants_failed": 0})
	want := []string{"2027-05-07T00:00:00Z", "2027-05-08T00:00:00Z", "2027-05-09T00:00:00Z"}
	if got := f.periods("acme"); !slices.Equal(got, want) {
		t.Fatalf("after the first run: %v, want %v (05-06 and older are beyond the limit)", got, want)
	}
	// The same day again: nothing to do.
	wantSummary(t, f.run(task, "2027-05-10T23:59:59Z"), map[string]int{"reports_written": 0, "days_caught_up": 0})

	// The worker misses 05-10, 05-11 and 05-12.
	sum = f.run(task, "2027-05-13T00:00:00Z")
	wantSummary(t, sum, map[string]int{"reports_written": 3, "days_caught_up": 2})
	want = append(want, "2027-05-10T00:00:00Z", "2027-05-11T00:00:00Z", "2027-05-12T00:00:00Z")
	if got := f.periods("acme"); !slices.Equal(got, want) {
		t.Fatalf("after the catch-up: %v, want %v", got, want)
	}
}

// TestDefaultCatchup: CatchupDays 0 means 7.
func TestDefaultCatchup(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	wantSummary(t, f.run(report.New(f.pool, report.Options{}), "2027-05-10T12:00:00Z"), map[string]int{"reports_written": 7, "days_caught_up": 6})
	if got := f.periods("acme"); got[0] != "2027-05-03T00:00:00Z" || len(got) != 7 {
		t.Fatalf("periods %v", got)
	}
}

// TestUpcomingGap: a hole in tomorrow's schedule shows in today's report, as RFC 3339 instants
// of the tenant's zone.
func TestUpcomingGap(t *testing.T) {
	f := newFixture(t)
	f.tenant("eu", "Europe/Berlin")
	alice := f.responder("eu", "Alice")
	bob := f.responder("eu", "Bob")
	s := f.schedule("eu", "Nights", "Europe/Berlin")
	// Alice until 02:00 tomorrow, Bob from 06:00 tomorrow: nobody in between.
	f.layer(s, 2, "2027-05-01T00:00:00+02:00", 1, "week", "2027-05-05T02:00:00+02:00", alice)
	f.layer(s, 1, "2027-05-05T06:00:00+02:00", 1, "week", "", bob)

	f.run(report.New(f.pool, report.Options{CatchupDays: 1}), "2027-05-05T00:00:00+02:00")
	r := f.report("eu", "2027-05-04T00:00:00+02:00").Body.Schedules[0]
	if len(r.Gaps) != 0 || len(r.OnCall) != 1 || r.OnCall[0].Hours != 24 {
		t.Fatalf("today: %s", jsonOf(t, r))
	}
	if len(r.UpcomingGaps) != 1 {
		t.Fatalf("upcoming gaps: %s", jsonOf(t, r.UpcomingGaps))
	}
	g := r.UpcomingGaps[0]
	if got := g.Start.Format(time.RFC3339) + " " + g.End.Format(time.RFC3339); got != "2027-05-05T02:00:00+02:00 2027-05-05T06:00:00+02:00" || g.Hours != 4 {
		t.Fatalf("gap %s (%gh)", got, g.Hours)
	}
}

// TestRerunDoesNotChangeReport: data written later into an already reported day changes
// nothing; a stored report is final.
func TestRerunDoesNotChangeReport(t *testing.T) {
	f := newFixture(t)
	seedMix(f)
	task := report.New(f.pool, report.Options{CatchupDays: 1})
	f.run(task, "2027-05-05T00:10:00Z")
	before := f.report("acme", "2027-05-04T00:00:00Z")

	f.alert("acme", "db", "2027-05-04T12:00:00Z", "2027-05-04T12:00:01Z", "2027-05-04T12:00:02Z")
	f.exec(`update alerts set resolved_at = '2027-05-04T23:00:00Z', status = 'resolved' where tenant_id = 'acme' and resolved_at is null`)
	sum := f.run(task, "2027-05-05T08:00:00Z")
	wantSummary(t, sum, map[string]int{"reports_written": 0})
	after := f.report("acme", "2027-05-04T00:00:00Z")
	if after.Raw != before.Raw || after.Text != before.Text || !after.GeneratedAt.Equal(before.GeneratedAt) {
		t.Fatalf("report changed:\n%s\n%s", before.Raw, after.Raw)
	}
	if after.Body.Alerts.Triggered != 9 || after.Body.Alerts.OpenAtEnd != 7 {
		t.Fatalf("numbers changed: %+v", after.Body.Alerts)
	}
}

// TestUnknownZoneFailsAlone: a tenant whose zone Go does not know fails, is logged and counted;
// the others get their reports and the run succeeds (bad data is not a failed run).
func TestUnknownZoneFailsAlone(t *testing.T) {
	f := newFixture(t)
	f.tenant("a", "UTC")
	f.tenant("bad", "Mars/Olympus_Mons")
	f.tenant("c", "Europe/Berlin")
	var logs syncBuffer
	ctx := scheduler.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&logs, nil)))
	reg := prometheus.NewRegistry()
	task := report.New(f.pool, report.Options{Registerer: reg, CatchupDays: 2})

	sum, err := task.Run(ctx, ts(t, "2027-05-05T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, sum, map[string]int{"tenants": 3, "reports_written": 4, "tenants_failed": 1})
	if len(f.periods("a")) != 2 || len(f.periods("c")) != 2 || len(f.periods("bad")) != 0 {
		t.Fatalf("periods: a %v, bad %v, c %v", f.periods("a"), f.periods("bad"), f.periods("c"))
	}
	if !strings.Contains(logs.String(), `"tenant_id":"bad"`) || !strings.Contains(logs.String(), "Mars/Olympus_Mons") {
		t.Fatalf("logs do not name the tenant and its zone:\n%s", logs.String())
	}
	if got := counter(t, reg, "opsworker_report_tenants_failed_total"); got != 1 {
		t.Fatalf("tenants_failed_total = %g", got)
	}
	if got := counter(t, reg, "opsworker_report_reports_written_total"); got != 4 {
		t.Fatalf("reports_written_total = %g", got)
	}
	// It fails again on every run, until fixed; the others have nothing left to do.
	sum, err = task.Run(ctx, ts(t, "2027-05-05T13:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	wantSummary(t, sum, map[string]int{"reports_written": 0, "tenants_failed": 1})
}

// counter reads a counter's value from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestConcurrentRuns: two replicas (two pools, so two sets of connections) running at once write
// exactly one report per tenant and day between them.
func TestConcurrentRuns(t *testing.T) {
	ctx := quietContext()
	url := dbtest.NewURL(t)
	pools := make([]*pgxpool.Pool, 2)
	for i := range pools {
		p, err := pgxpool.New(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[i] = p
	}
	f := &fixture{t: t, ctx: ctx, pool: pools[0]}
	zones := []string{"UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Australia/Lord_Howe", "Pacific/Chatham"}
	for i, z := range zones {
		id := fmt.Sprintf("t%d", i)
		f.tenant(id, z)
		f.alert(id, "src", "2027-11-05T12:00:00Z", "", "")
	}
	const days = 5
	for round, now := range []time.Time{ts(t, "2027-11-08T12:00:00Z"), ts(t, "2027-11-09T12:00:00Z")} {
		written := make([]int, len(pools))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, p := range pools {
			task := report.New(p, report.Options{CatchupDays: days})
			wg.Go(func() {
				<-start
				sum, err := task.Run(ctx, now)
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
				}
				written[i] = sum["reports_written"].(int)
			})
		}
		close(start)
		wg.Wait()
		want := len(zones) * days // first round: every day; second: one new day each
		if round == 1 {
			want = len(zones)
		}
		if written[0]+written[1] != want {
			t.Fatalf("round %d: replicas wrote %v, want %d in all", round, written, want)
		}
	}
	var rows, distinct int
	if err := pools[0].QueryRow(ctx, `select count(*), count(distinct (tenant_id, period_start)) from reports`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(zones)*(days+1) || distinct != rows {
		t.Fatalf("%d reports, %d distinct, want %d", rows, distinct, len(zones)*(days+1))
	}
}

// TestDatabaseErrorFailsTenantAndRun: when the database fails one tenant's report (here a
// trigger rejects its insert), the other tenants still get theirs, and the run returns an error
// naming the tenant, so the scheduler records a failed run.
func TestDatabaseErrorFailsTenantAndRun(t *testing.T) {
	f := newFixture(t)
	for _, id := range []string{"a", "b", "c"} {
		f.tenant(id, "UTC")
	}
	f.exec(`create function reject_b() returns trigger language plpgsql as $$
	        begin if new.tenant_id = 'b' then raise exception 'disk full'; end if; return new; end $$`)
	f.exec(`create trigger reject_b before insert on reports for each row execute function reject_b()`)
	reg := prometheus.NewRegistry()
	task := report.New(f.pool, report.Options{Registerer: reg, CatchupDays: 2})

	sum, err := task.Run(f.ctx, ts(t, "2027-05-05T12:00:00Z"))
	if err == nil || !strings.Contains(err.Error(), `tenant "b"`) || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("error %v", err)
	}
	wantSummary(t, sum, map[string]int{"tenants": 3, "reports_written": 4, "tenants_failed": 1})
	if len(f.periods("a")) != 2 || len(f.periods("b")) != 0 || len(f.periods("c")) != 2 {
		t.Fatalf("periods: a %v, b %v, c %v", f.periods("a"), f.periods("b"), f.periods("c"))
	}
	if got := counter(t, reg, "opsworker_report_tenants_failed_total"); got != 1 {
		t.Fatalf("tenants_failed_total = %g", got)
	}
}

// TestOverridesFromEarliestMissingDay: a tenant's schedules are loaded once per run, with the
// overrides that can matter from the start of its earliest missing day on. An override inside
// that day counts in its report; one that ended when the day began is not even read (it names a
// responder of another tenant: read, it would make the schedule invalid).
func TestOverridesFromEarliestMissingDay(t *testing.T) {
	f := newFixture(t)
	f.tenant("acme", "UTC")
	f.tenant("other", "UTC")
	alice := f.responder("acme", "Alice")
	bob := f.responder("acme", "Bob")
	eve := f.responder("other", "Eve")
	s := f.schedule("acme", "Primary", "UTC")
	f.layer(s, 1, "2027-05-01T00:00:00Z", 1, "week", "", alice)
	f.override(s, eve, 0, "2027-05-06T12:00:00Z", "2027-05-07T00:00:00Z")
	f.override(s, bob, alice, "2027-05-07T10:00:00Z", "2027-05-07T12:00:00Z")

	// 05-07 to 05-09, for acme and other.
	sum := f.run(report.New(f.pool, report.Options{CatchupDays: 3}), "2027-05-10T01:00:00Z")
	wantSummary(t, sum, map[string]int{"reports_written": 6, "schedules_failed": 0})
	first := f.report("acme", "2027-05-07T00:00:00Z").Body.Schedules[0]
	if first.Error != "" || len(first.OnCall) != 2 || first.OnCall[0].Name != "Alice" || first.OnCall[0].Hours != 22 ||
		first.OnCall[1].Name != "Bob" || first.OnCall[1].Hours != 2 {
		t.Fatalf("05-07: %s", jsonOf(t, first))
	}
	last := f.report("acme", "2027-05-09T00:00:00Z").Body.Schedules[0]
	if last.Error != "" || len(last.OnCall) != 1 || last.OnCall[0].Hours != 24 {
		t.Fatalf("05-09: %s", jsonOf(t, last))
	}
}
