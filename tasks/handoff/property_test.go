package handoff_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"pgregory.net/rapid"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/tasks/handoff"
)

// propertyChecks is how many random schedules TestNoticesAreTheShiftsChanges checks, split
// between two workers on databases of their own (-rapid.checks=N: N per worker).
const propertyChecks = 200

// propertyZones: UTC, zones whose clocks move by an hour both ways of the year (north and
// south), Lord Howe's 30 minutes, and a half-hour offset without DST.
var propertyZones = []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Australia/Lord_Howe", "Asia/Kolkata"}

// The clock moves by one of these between runs: within a minute, the cron interval, past the
// lead, past the hour after which changes are skipped, past the week after which they are not
// recorded at all.
var propertyAdvances = []time.Duration{time.Second, time.Minute, 7 * time.Minute, 40 * time.Minute, 61 * time.Minute, 2 * time.Hour, 26 * time.Hour, 8 * 24 * time.Hour}

// TestNoticesAreTheShiftsChanges: random schedules (layers of hours and days, restrictions,
// overrides, stale participants, zones with DST, the run times near a DST change of 2027) and
// random run times (advances, reruns, runs at an earlier instant): the notices written are
// exactly the changes that oncall's shifts contain in the windows the runs covered, each once
// per recipient, with who comes on, who goes off and until when; a change more than an hour
// old when a run covered it is skipped, one of a responder without contact methods failed;
// every pending notice has one delivery per recipient channel, the others none.
func TestNoticesAreTheShiftsChanges(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && !flagSet("rapid.checks") {
		checks := propertyChecks / 2
		if testing.Short() {
			checks /= 5
		}
		if err := f.Value.Set(fmt.Sprint(checks)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = f.Value.Set(f.DefValue) })
	}
	for w := range 2 {
		t.Run(fmt.Sprintf("worker %d", w), func(t *testing.T) {
			t.Parallel()
			pool := dbtest.NewUnsynced(t)
			svc, err := delivery.New(pool, delivery.Options{Workers: 0})
			if err != nil {
				t.Fatal(err)
			}
			rapid.Check(t, func(rt *rapid.T) { checkSequence(rt, pool, svc.Enqueuer()) })
		})
	}
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// Each sequence starts from tenant p with responders 1-4 (4 has no contact method; 1 and 2 have
// two, one of them disabled for 2), schedule 1 and subscriptions 1-3 (3 disabled), after the
// previous sequence's rows are deleted.
const propertySetupSQL = `
delete from handoff_notices; delete from handoff_cursors; delete from deliveries; delete from river_job;
delete from oncall_schedules; delete from contact_methods; delete from responders; delete from tenants;
insert into tenants (id, name) values ('p', 'p');
insert into responders (id, tenant_id, name) overriding system value values (1, 'p', 'r1'), (2, 'p', 'r2'), (3, 'p', 'r3'), (4, 'p', 'r4');
insert into contact_methods (tenant_id, responder_id, kind, address, enabled) values
    ('p', 1, 'webhook', 'https://h.example.com/1', true), ('p', 1, 'email', 'r1@example.com', true),
    ('p', 2, 'slack', 'https://h.example.com/2', true), ('p', 2, 'email', 'r2@example.com', false),
    ('p', 3, 'webhook', 'https://h.example.com/3', true);
`

func checkSequence(t *rapid.T, pool *pgxpool.Pool, enq *delivery.Enqueuer) {
	ctx := quietContext()
	exec := func(sql string, args ...any) {
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", strings.Fields(sql)[0], err)
		}
	}
	exec(propertySetupSQL)
	zone := rapid.SampledFrom(propertyZones).Draw(t, "zone")
	loc, _ := time.LoadLocation(zone)
	exec(`insert into oncall_schedules (id, tenant_id, name, time_zone) overriding system value values (1, 'p', 's', $1)`, zone)
	subs := rapid.IntRange(0, 3).Draw(t, "subscriptions")
	for i := 1; i <= subs; i++ {
		exec(`insert into schedule_subscriptions (id, tenant_id, schedule_id, kind, address, enabled) overriding system value
			values ($1, 'p', 1, 'webhook', 'https://team.example.com', $2)`, i, i != 3)
	}

	// Events cluster around a focus: a DST change of 2027 in the zone, or a random instant of it.
	focus := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rapid.Int64Range(0, 364*24*60).Draw(t, "focus")) * time.Minute)
	if ts := transitions2027(loc); len(ts) > 0 && rapid.Bool().Draw(t, "at a DST change") {
		focus = rapid.SampledFrom(ts).Draw(t, "transition")
	}
	near := func(label string, span time.Duration) time.Time {
		d := time.Duration(rapid.Int64Range(-int64(span/time.Minute), int64(span/time.Minute)).Draw(t, label)) * time.Minute
		return focus.Add(d)
	}
	people := []int64{1, 2, 3, 4, 99} // 99 is stale: not a responder
	for l := range rapid.IntRange(1, 3).Draw(t, "layers") {
		unit := rapid.SampledFrom([]string{"hour", "hour", "day"}).Draw(t, "unit")
		var ends *time.Time
		if rapid.IntRange(0, 3).Draw(t, "ends") == 0 {
			e := near("ends_at", 3*24*time.Hour)
			ends = &e
		}
		var layer int64
		err := pool.QueryRow(ctx, `insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
			values (1, 'l', $1, $2, $3, $4, $5, $6) returning id`,
			l, near("rotation_start", 4*24*time.Hour), rapid.IntRange(1, 3).Draw(t, "length"), unit,
			rapid.SliceOfN(rapid.SampledFrom(people), 1, 3).Draw(t, "participants"), ends).Scan(&layer)
		if err != nil {
			t.Fatal(err)
		}
		for range rapid.IntRange(0, 2).Draw(t, "restrictions") {
			var day *int
			if rapid.Bool().Draw(t, "weekly") {
				d := rapid.IntRange(1, 7).Draw(t, "start_day")
				day = &d
			}
			exec(`insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration) values ($1, $2, $3::interval::time, $4::interval)`,
				layer, day, fmt.Sprintf("%d minutes", 15*rapid.IntRange(0, 95).Draw(t, "start_time")),
				fmt.Sprintf("%d minutes", 30*rapid.IntRange(1, 60).Draw(t, "duration")))
		}
	}
	for range rapid.IntRange(0, 3).Draw(t, "overrides") {
		start := near("override_start", 2*24*time.Hour)
		var replaces *int64
		if rapid.Bool().Draw(t, "replaces") {
			r := rapid.SampledFrom(people[:4]).Draw(t, "replaced")
			replaces = &r
		}
		exec(`insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at) values (1, $1, $2, $3, $4, $5)`,
			rapid.SampledFrom(people[:4]).Draw(t, "override_responder"), replaces, start,
			start.Add(time.Duration(rapid.IntRange(1, 48*4).Draw(t, "override_quarters"))*15*time.Minute), near("created", 24*time.Hour))
	}

	lead := rapid.SampledFrom([]time.Duration{0, 5 * time.Minute, 15 * time.Minute, time.Hour}).Draw(t, "lead")
	task := handoff.New(pool, handoff.Options{Lead: lead, Deliveries: enq, BatchSize: 1})
	// Runs: the first sees the schedule; then advances, reruns at the same instant, and runs at
	// an earlier one (a manual replay), which change nothing.
	now := near("first run", 24*time.Hour).Add(time.Duration(rapid.Int64Range(0, 59_999_999).Draw(t, "µs")) * time.Microsecond)
	runs := []time.Time{now}
	run := func(at time.Time) {
		if _, err := task.Run(ctx, at); err != nil {
			t.Fatalf("run at %s: %v", at, err)
		}
	}
	run(now)
	for range rapid.IntRange(1, 8).Draw(t, "runs") {
		switch rapid.IntRange(0, 5).Draw(t, "action") {
		case 0:
			run(now)
		case 1:
			run(now.Add(-time.Duration(rapid.IntRange(1, 120).Draw(t, "back")) * time.Minute))
		default:
			now = now.Add(rapid.SampledFrom(propertyAdvances).Draw(t, "advance"))
			runs = append(runs, now)
			run(now)
		}
	}

	want := expectedNotices(t, pool, runs, lead, subs)
	got := writtenNotices(t, pool)
	if !slices.Equal(got, want) {
		t.Fatalf("notices (%d):\n%s\nwant (%d):\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
	}
	// Deliveries: one per pending notice and recipient channel (subscriptions 1 and 2;
	// responders' enabled contact methods: 2 for r1, 1 for r2 and r3), none for the others.
	var bad int
	err := pool.QueryRow(ctx, `
		select count(*) from handoff_notices h
		where (select count(*) from deliveries d where d.message = 'notice' and d.source_id = h.id)
		   <> case when h.status <> 'pending' then 0 when h.kind = 'changed' then 1
		           else (select count(*) from contact_methods cm where cm.responder_id = h.responder_id and cm.enabled) end`).Scan(&bad)
	if err != nil || bad != 0 {
		t.Fatalf("%d notices with the wrong deliveries (%v)", bad, err)
	}
}

// transitions2027 lists loc's offset changes in 2027, found with ZoneBounds.
func transitions2027(loc *time.Location) []time.Time {
	var out []time.Time
	for t := time.Date(2027, 1, 1, 0, 0, 0, 0, loc); t.Year() == 2027; {
		_, end := t.ZoneBounds()
		if end.IsZero() || end.Year() != 2027 {
			break
		}
		out = append(out, end)
		t = end
	}
	return out
}

// expectedNotices derives, from the schedule's whole timeline as oncall computes it, what runs
// at the instants runs (each later than the one before; reruns and earlier runs add nothing) with
// lead should have written, one line per notice.
func expectedNotices(t *rapid.T, pool *pgxpool.Pool, runs []time.Time, lead time.Duration, subs int) []string {
	s, err := oncall.Load(context.Background(), pool, 1, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range runs {
		runs[i] = runs[i].Truncate(time.Microsecond)
	}
	last := runs[len(runs)-1]
	shifts := s.Shifts(runs[0].Add(-handoff.MaxCatchup), last.Add(lead+40*24*time.Hour))
	var out []string
	for i := 1; i < len(shifts); i++ {
		sh, prev := shifts[i], shifts[i-1]
		c := sh.Start
		// The run whose windows cover c, for subscriptions and for the responder coming on.
		for k, from := range runs[1:] {
			now := runs[k+1]
			from = runs[k]
			if c.After(maxT(from, now.Add(-handoff.MaxCatchup))) && !c.After(now) {
				for sub := 1; sub <= min(subs, 2); sub++ {
					out = append(out, line(c, "changed", sub, 0, status(c, now, false), sh, prev, now.Add(lead)))
				}
			}
			upFrom := from.Add(lead)
			if k == 0 {
				upFrom = from // the first run starts both cursors at its now
			}
			if sh.Responder != nil && c.After(maxT(upFrom, now.Add(-handoff.MaxCatchup))) && !c.After(now.Add(lead)) {
				out = append(out, line(c, "upcoming", 0, sh.Responder.ID, status(c, now, sh.Responder.ID == 4), sh, prev, now.Add(lead)))
			}
		}
	}
	slices.Sort(out)
	return out
}

// status is a notice's status when a run at now covers the change at c.
func status(c, now time.Time, noContact bool) string {
	switch {
	case c.Before(now.Add(-handoff.SkipAfter)):
		return "skipped"
	case noContact:
		return "failed"
	}
	return "pending"
}

func maxT(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// line is one notice as the test compares it; the until of a change is known when the next one
// comes within 35 days of the run's window end (to).
func line(c time.Time, kind string, sub int, responder int64, status string, sh, prev oncall.Shift, to time.Time) string {
	until := "-"
	if sh.End.Before(to.Add(35 * 24 * time.Hour)) {
		until = sh.End.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%s %s sub=%d responder=%d %s on=%v off=%v until=%s", c.UTC().Format(time.RFC3339Nano), kind, sub, responder, status,
		id(sh.Responder), id(prev.Responder), until)
}

func id(r *oncall.Responder) int64 {
	if r == nil {
		return 0
	}
	return r.ID
}

// writtenNotices reads the notices as expectedNotices writes them.
func writtenNotices(t *rapid.T, pool *pgxpool.Pool) []string {
	rows, err := pool.Query(context.Background(), `select change_at, kind, coalesce(subscription_id, 0), coalesce(responder_id, 0), status, notice from handoff_notices`)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var (
		at        time.Time
		kind, st  string
		sub, resp int64
		body      []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&at, &kind, &sub, &resp, &st, &body}, func() error {
		var n delivery.Notice
		if err := json.Unmarshal(body, &n); err != nil {
			return err
		}
		if !n.At.Equal(at) || n.Type != "oncall."+kind || n.Schedule.ID != 1 {
			return fmt.Errorf("notice %+v of a %s row at %s", n, kind, at)
		}
		until := "-"
		if n.Until != nil {
			until = n.Until.UTC().Format(time.RFC3339Nano)
		}
		on, off := int64(0), int64(0)
		if len(n.OnCall) > 0 {
			on = n.OnCall[0].ID
		}
		if len(n.OffCall) > 0 {
			off = n.OffCall[0].ID
		}
		out = append(out, fmt.Sprintf("%s %s sub=%d responder=%d %s on=%v off=%v until=%s", at.UTC().Format(time.RFC3339Nano), kind, sub, resp, st, on, off, until))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}
