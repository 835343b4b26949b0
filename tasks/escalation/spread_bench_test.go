package escalation_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/tasks/escalation"
)

// spreadAlerts is the number of due alerts of each shape of BenchmarkEscalateTenantSpread.
const spreadAlerts = 10000

// spreadTenants is the number of tenants the spread shape's alerts are dealt over.
const spreadTenants = 500

// BenchmarkEscalateTenantSpread compares two shapes of one run over 10,000 due alerts, each
// paging a schedule and a responder:
//
//   - single: one tenant, all alerts on its one policy and schedule;
//   - spread: 500 tenants, 20 alerts each, dealt round-robin so that every batch of 500 pages
//     500 schedules.
//
// Every tenant of either shape is built alike: its own zone, seven responders, a schedule of
// three layers (a weekly base, a 12-hour weekday-business-hours layer and a daily nightly layer)
// with 20 overrides (15 not yet ended at the run, one of them in effect), and a policy whose
// step 0 pages the schedule and a responder outside it. The only difference is how many
// schedules, policies and zones each batch loads. The two shapes run in turn in each
// iteration (the order alternating), so a noisy machine slows both alike, and the benchmark
// reports each shape's alerts/s and their ratio, spread/single. Target: spread/single ≥ 0.70.
func BenchmarkEscalateTenantSpread(b *testing.B) {
	zones := spreadZones(b, spreadTenants)
	shapes := []*spreadShape{
		{name: "single", f: seedTenants(b, zones[:1], spreadAlerts)},
		{name: "spread", f: seedTenants(b, zones, spreadAlerts)},
	}
	for _, s := range shapes {
		s.task = escalation.New(s.f.pool, escalation.Options{})
		// A first run, untimed, warms what a long-running worker has warm: the pool's
		// connections, their prepared statements, PostgreSQL's caches.
		s.run(b)
	}
	// ns/op is that of an iteration, resets included; the metrics time the runs alone.
	n := 0
	for b.Loop() {
		for k := range shapes {
			s := shapes[(n+k)%len(shapes)] // single first in even iterations, spread in odd ones
			resetAlerts(s.f)
			s.elapsed += s.run(b)
		}
		n++
	}
	single := float64(spreadAlerts*n) / shapes[0].elapsed.Seconds()
	spread := float64(spreadAlerts*n) / shapes[1].elapsed.Seconds()
	b.ReportMetric(single, "single-alerts/s")
	b.ReportMetric(spread, "spread-alerts/s")
	b.ReportMetric(spread/single, "spread/single")
}

// spreadShape is one shape of BenchmarkEscalateTenantSpread and the time its runs took.
type spreadShape struct {
	name    string
	f       *fixture
	task    *escalation.Task
	elapsed time.Duration
}

// run runs the shape's task 10 s after t0, when every alert is due, and returns how long it
// took; it fails unless every alert was escalated with its two pages.
func (s *spreadShape) run(b *testing.B) time.Duration {
	start := time.Now()
	sum, err := s.task.Run(s.f.ctx, t0.Add(10*time.Second))
	took := time.Since(start)
	if err != nil {
		b.Fatalf("%s: %v", s.name, err)
	}
	if sum["alerts_escalated"] != spreadAlerts || sum["pages"] != 2*spreadAlerts {
		b.Fatalf("%s: summary %v, want %d alerts escalated with 2 pages each", s.name, sum, spreadAlerts)
	}
	return took
}

// resetAlerts makes every alert of f due again, as seeded.
func resetAlerts(f *fixture) {
	f.exec(`truncate deliveries, notifications, alert_events`)
	f.exec(`update alerts set escalation_step = null, escalation_loop = 0, escalation_pass = 0,
	        escalated_policy_id = null, last_escalated_at = null, next_escalation_at = $1`, t0)
	f.exec(`vacuum analyze alerts`)
}

// spreadZones returns n distinct zone names that both PostgreSQL and Go know, Europe/Berlin
// first and the others picked evenly from the sorted list, so that the zones span every
// region and kind of rule.
func spreadZones(b testing.TB, n int) []string {
	b.Helper()
	f := newFixture(b)
	rows, err := f.pool.Query(f.ctx, `
		select name from pg_timezone_names
		where name !~ '^(posix|right)/' and name not in ('localtime', 'posixrules', 'Europe/Berlin')
		order by name`)
	if err != nil {
		b.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	names = slices.DeleteFunc(names, func(name string) bool {
		_, err := civil.LoadLocation(name)
		return err != nil
	})
	if len(names) < n-1 {
		b.Fatalf("%d zones known to both PostgreSQL and Go, want %d", len(names), n-1)
	}
	out := []string{"Europe/Berlin"}
	for i := range n - 1 {
		out = append(out, names[i*len(names)/(n-1)])
	}
	return out
}

// seedTenants makes a tenant per zone, each as BenchmarkEscalateTenantSpread describes, and
// alerts due at t0 dealt over them in id order (alert g to tenant g mod len(zones)). It returns
// the fixture, ready: vacuumed and analysed.
func seedTenants(b *testing.B, zones []string, alerts int) *fixture {
	b.Helper()
	f := newFixture(b)
	f.seedTenants(zones, alerts)
	return f
}

// seedTenants is seedTenants into f's database.
func (f *fixture) seedTenants(zones []string, alerts int) {
	f.t.Helper()
	f.exec(`insert into tenants (id, name, time_zone)
	        select 't' || i, 'tenant ' || i, z from unnest($1::text[]) with ordinality u(z, i)`, zones)
	// r1..r6 take turns in the schedule; r7 is paged directly.
	f.exec(`insert into responders (tenant_id, name)
	        select t.id, 'r' || k from tenants t, generate_series(1, 7) k order by t.id, k`)
	f.exec(`insert into oncall_schedules (tenant_id, name, time_zone) select id, 'primary', time_zone from tenants order by id`)
	f.exec(`
		insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
		select s.id, l.name, l.priority, l.start::timestamp at time zone s.time_zone, l.len, l.unit,
		       (select array_agg(r.id order by r.id) from responders r where r.tenant_id = s.tenant_id)[l.lo:l.hi]
		from oncall_schedules s,
		     (values ('base', 1, '2027-01-04 09:00', 1, 'week', 1, 3),
		             ('business', 2, '2027-01-04 09:00', 12, 'hour', 3, 5),
		             ('night', 3, '2027-01-01 22:00', 1, 'day', 5, 6)) l(name, priority, start, len, unit, lo, hi)
		order by s.id, l.priority`)
	f.exec(`
		insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
		select l.id, d, time '09:00', interval '9 hours' from oncall_layers l, generate_series(1, 5) d where l.name = 'business'
		union all
		select l.id, null, time '22:00', interval '10 hours' from oncall_layers l where l.name = 'night'`)
	// Override k starts at t0 - 50h + 10h*k and lasts 3, 7, 11 or 15 hours: 0..4 have ended by
	// the run, 5 is in effect, the rest are to come. Odd ones stand in for a participant.
	f.exec(`
		insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
		select s.id, r.ids[1 + k % 6], case when k % 2 = 1 then r.ids[1 + (k + 3) % 6] end,
		       $1::timestamptz + (10 * k - 50) * interval '1 hour',
		       $1::timestamptz + (10 * k - 50 + 3 + 4 * (k % 4)) * interval '1 hour',
		       $1::timestamptz - interval '30 days' + k * interval '1 hour'
		from oncall_schedules s
		cross join lateral (select array_agg(id order by id) ids from responders where tenant_id = s.tenant_id) r
		cross join generate_series(0, 19) k
		order by s.id, k`, t0)
	f.seedPolicies()
	f.exec(`
		insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
		select p.tenant_id, 'bench', 'alert ' || g, p.id, $1, $1
		from generate_series(0, $2 - 1) g
		join (select id, tenant_id, row_number() over (order by id) - 1 n from escalation_policies) p on p.n = g % $3
		order by g`, t0, alerts, len(zones))
	f.exec(`vacuum analyze`)
}

// BenchmarkEscalateRandomSchedules is BenchmarkEscalateTenantSpread on random schedules: for
// each seed (ESCALATION_BENCH_SEEDS, default 1,2,3,4,5), 500 tenants in zones drawn from the
// zones both PostgreSQL and Go know, each with a schedule of 1–5 layers (shift units hour, day
// and week, lengths and hand-off times drawn, some layers ended, participants drawn from the
// tenant's seven responders, repeats included), 0–3 restrictions per layer (daily and weekly
// windows) and 0–50 overrides around the run (some in effect, some standing in for one
// participant), and a policy whose step 0 pages the schedule and a responder. Shape "single"
// puts 10,000 due alerts on the first tenant, "spread" deals them over all 500; the runs
// alternate, and the benchmark reports spread/single (alerts per second) per seed and the worst
// of them. Target: the worst ≥ 0.80. Under the random layers every schedule has a base layer
// that always has someone on call, so that both shapes page two people per alert: the same work.
func BenchmarkEscalateRandomSchedules(b *testing.B) {
	seeds := []uint64{1, 2, 3, 4, 5}
	if s := os.Getenv("ESCALATION_BENCH_SEEDS"); s != "" {
		seeds = nil
		for _, f := range strings.Split(s, ",") {
			v, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				b.Fatalf("ESCALATION_BENCH_SEEDS=%q: %v", s, err)
			}
			seeds = append(seeds, v)
		}
	}
	zones := spreadZones(b, spreadTenants)
	type seeded struct {
		seed   uint64
		shapes []*spreadShape
	}
	var all []*seeded
	for _, seed := range seeds {
		sd := &seeded{seed: seed}
		for _, name := range []string{"single", "spread"} {
			f := newFixture(b)
			tenants := f.seedRandomTenants(seed, zones)
			if name == "single" {
				tenants = tenants[:1]
			}
			f.seedAlerts(tenants, spreadAlerts)
			s := &spreadShape{name: fmt.Sprintf("%s (seed %d)", name, seed), f: f, task: escalation.New(f.pool, escalation.Options{})}
			s.run(b) // warm, untimed
			sd.shapes = append(sd.shapes, s)
		}
		all = append(all, sd)
	}
	n := 0
	for b.Loop() {
		for _, sd := range all {
			for k := range sd.shapes {
				s := sd.shapes[(n+k)%2]
				resetAlerts(s.f)
				s.elapsed += s.run(b)
			}
		}
		n++
	}
	worst := math.Inf(1)
	for _, sd := range all {
		r := sd.shapes[0].elapsed.Seconds() / sd.shapes[1].elapsed.Seconds() // spread/single throughput
		b.ReportMetric(r, fmt.Sprintf("spread/single-seed%d", sd.seed))
		worst = min(worst, r)
	}
	b.ReportMetric(worst, "worst-spread/single")
}

// seedRandomTenants makes a tenant per zone with a random schedule and a policy paging it (see
// BenchmarkEscalateRandomSchedules), drawn from seed, and returns the tenants' ids in order.
func (f *fixture) seedRandomTenants(seed uint64, zones []string) []string {
	f.t.Helper()
	rnd := rand.New(rand.NewPCG(seed, 0x6f7073776f726b))
	shuffled := slices.Clone(zones)
	rnd.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	tenants := make([]string, len(zones))
	for i := range tenants {
		tenants[i] = fmt.Sprintf("t%d", i+1)
	}
	f.exec(`insert into tenants (id, name, time_zone) select u.id, u.id, u.z from unnest($1::text[], $2::text[]) u(id, z)`, tenants, shuffled)
	f.exec(`insert into responders (tenant_id, name) select t.id, 'r' || k from tenants t, generate_series(1, 7) k order by t.id, k`)
	f.exec(`insert into oncall_schedules (tenant_id, name, time_zone) select id, 'primary', time_zone from tenants order by id`)
	rows, err := f.pool.Query(f.ctx, `
		select s.id, s.time_zone, array_agg(r.id order by r.id)
		from oncall_schedules s join responders r using (tenant_id) group by s.id, s.time_zone order by s.id`)
	if err != nil {
		f.t.Fatal(err)
	}
	type sched struct {
		ID         int64
		Zone       string
		Responders []int64
	}
	scheds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sched])
	if err != nil {
		f.t.Fatal(err)
	}
	var l struct {
		ids, schedules, lengths []int64
		priorities              []int32
		starts, ends            []time.Time // ends: zero for none
		units                   []string
		participants            []string // array literals
	}
	var r struct {
		layers  []int64
		days    []int32 // 0: daily
		starts  []string
		minutes []int32
	}
	var o struct {
		schedules, responders, replaces []int64 // replaces 0: the whole schedule
		starts, ends, created           []time.Time
	}
	units := []string{"hour", "day", "week"}
	layerID := int64(0)
	for _, s := range scheds {
		loc, err := time.LoadLocation(s.Zone)
		if err != nil {
			f.t.Fatal(err)
		}
		// A base layer, lowest, always someone: every schedule has someone on call at the run
		// (never the directly paged r7), so every alert of either shape pages two people and
		// the shapes do the same work.
		layerID++
		l.ids = append(l.ids, layerID)
		l.schedules = append(l.schedules, s.ID)
		l.priorities = append(l.priorities, 0)
		l.starts = append(l.starts, t0.AddDate(0, 0, -60))
		l.lengths = append(l.lengths, 1)
		l.units = append(l.units, "week")
		l.participants = append(l.participants, fmt.Sprintf("{%d,%d,%d,%d,%d,%d}", s.Responders[0], s.Responders[1],
			s.Responders[2], s.Responders[3], s.Responders[4], s.Responders[5]))
		l.ends = append(l.ends, time.Time{})
		for p := range 1 + rnd.IntN(5) {
			layerID++
			unit := units[rnd.IntN(3)]
			length := map[string]int{"hour": 1 + rnd.IntN(24), "day": 1 + rnd.IntN(7), "week": 1 + rnd.IntN(2)}[unit]
			start := t0.In(loc).AddDate(0, 0, -rnd.IntN(60)).Truncate(time.Hour).Add(time.Duration(rnd.IntN(24)) * time.Hour)
			var end time.Time
			if rnd.IntN(5) == 0 { // a fifth of the layers end, some before the run
				end = t0.Add(time.Duration(rnd.IntN(30*24)-5*24) * time.Hour)
			}
			people := make([]string, 1+rnd.IntN(6))
			for i := range people {
				people[i] = strconv.FormatInt(s.Responders[rnd.IntN(6)], 10)
			}
			l.ids = append(l.ids, layerID)
			l.schedules = append(l.schedules, s.ID)
			l.priorities = append(l.priorities, int32(p+1))
			l.starts = append(l.starts, start)
			l.lengths = append(l.lengths, int64(length))
			l.units = append(l.units, unit)
			l.participants = append(l.participants, "{"+strings.Join(people, ",")+"}")
			l.ends = append(l.ends, end)
			for range rnd.IntN(4) {
				day := int32(0)
				if rnd.IntN(2) == 0 {
					day = 1 + int32(rnd.IntN(7))
				}
				r.layers = append(r.layers, layerID)
				r.days = append(r.days, day)
				r.starts = append(r.starts, fmt.Sprintf("%02d:%02d", rnd.IntN(24), 15*rnd.IntN(4)))
				r.minutes = append(r.minutes, int32(30+rnd.IntN(24*60)))
			}
		}
		for range rnd.IntN(51) {
			start := t0.Add(time.Duration(rnd.IntN(60*24)-30*24) * time.Hour)
			replaces := int64(0)
			if rnd.IntN(2) == 0 {
				replaces = s.Responders[rnd.IntN(6)]
			}
			o.schedules = append(o.schedules, s.ID)
			o.responders = append(o.responders, s.Responders[rnd.IntN(6)])
			o.replaces = append(o.replaces, replaces)
			o.starts = append(o.starts, start)
			o.ends = append(o.ends, start.Add(time.Duration(1+rnd.IntN(48))*time.Hour))
			o.created = append(o.created, start.Add(-time.Duration(1+rnd.IntN(500))*time.Hour))
		}
	}
	f.exec(`
		insert into oncall_layers (id, schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants, ends_at)
		overriding system value
		select u.id, u.schedule_id, 'layer', u.priority, u.start, u.length, u.unit, u.participants::bigint[],
		       nullif(u.ends, '0001-01-01T00:00:00Z'::timestamptz)
		from unnest($1::bigint[], $2::bigint[], $3::int[], $4::timestamptz[], $5::bigint[], $6::text[], $7::text[], $8::timestamptz[])
		     u(id, schedule_id, priority, start, length, unit, participants, ends)`,
		l.ids, l.schedules, l.priorities, l.starts, l.lengths, l.units, l.participants, l.ends)
	f.exec(`
		insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
		select u.layer, nullif(u.day, 0), u.start::time, u.minutes * interval '1 minute'
		from unnest($1::bigint[], $2::int[], $3::text[], $4::int[]) u(layer, day, start, minutes)`,
		r.layers, r.days, r.starts, r.minutes)
	f.exec(`
		insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
		select u.schedule_id, u.responder_id, nullif(u.replaces, 0), u.starts, u.ends, u.created
		from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
		     u(schedule_id, responder_id, replaces, starts, ends, created)`,
		o.schedules, o.responders, o.replaces, o.starts, o.ends, o.created)
	f.seedPolicies()
	return tenants
}

// seedPolicies gives every tenant a policy whose step 0 pages its schedule and its responder r7.
func (f *fixture) seedPolicies() {
	f.t.Helper()
	f.exec(`insert into escalation_policies (tenant_id, name, repeat_count) select id, 'policy', 0 from tenants order by id`)
	f.exec(`insert into escalation_steps (policy_id, position, delay_minutes) select id, 0, 5 from escalation_policies`)
	f.exec(`
		insert into escalation_step_targets (policy_id, position, schedule_id, responder_id)
		select p.id, 0, s.id, null from escalation_policies p join oncall_schedules s using (tenant_id)
		union all
		select p.id, 0, null, r.id from escalation_policies p join responders r using (tenant_id) where r.name = 'r7'`)
}

// seedAlerts adds alerts due at t0, dealt over tenants in id order, and vacuums.
func (f *fixture) seedAlerts(tenants []string, alerts int) {
	f.t.Helper()
	f.exec(`
		insert into alerts (tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
		select p.tenant_id, 'bench', 'alert ' || g, p.id, $1, $1
		from generate_series(0, $2 - 1) g
		join (select p.id, p.tenant_id, u.n - 1 as n from unnest($3::text[]) with ordinality u(tenant_id, n)
		      join escalation_policies p using (tenant_id)) p on p.n = g % $4
		order by g`, t0, alerts, tenants, len(tenants))
	f.exec(`vacuum analyze`)
}
