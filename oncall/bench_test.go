package oncall

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opsworker/opsworker/dbtest"
)

// benchSchedule is a busy Europe/Berlin schedule: a weekly layer under an hourly one under a
// 12-hour layer restricted to weekday business hours, and 50 overrides (whole-schedule and
// stand-ins, some overlapping) over the month from 2027-03-15, which spans a DST change.
func benchSchedule(b testing.TB) *Schedule {
	loc := zoneOf(b, "Europe/Berlin")
	s := &Schedule{ID: 1, TenantID: "bench", Name: "bench", Location: loc, Responders: map[int64]Responder{}}
	for id := int64(1); id <= 10; id++ {
		s.Responders[id] = Responder{ID: id, Name: "r"}
	}
	weekdays := make([]Restriction, 5)
	for d := range weekdays {
		weekdays[d] = Restriction{StartDay: d + 1, StartTime: 8 * time.Hour, Duration: 10 * time.Hour}
	}
	s.Layers = []Layer{
		{ID: 1, Priority: 1, RotationStart: time.Date(2025, 1, 6, 9, 0, 0, 0, loc), ShiftLength: 1, ShiftUnit: Week, Participants: []int64{1, 2, 3, 4}},
		{ID: 2, Priority: 2, RotationStart: time.Date(2026, 6, 1, 0, 0, 0, 0, loc), ShiftLength: 1, ShiftUnit: Hour, Participants: []int64{5, 6, 7}},
		{ID: 3, Priority: 3, RotationStart: time.Date(2026, 1, 5, 8, 0, 0, 0, loc), ShiftLength: 12, ShiftUnit: Hour, Participants: []int64{8, 9, 10, 1}, Restrictions: weekdays},
	}
	start := time.Date(2027, 3, 15, 0, 0, 0, 0, loc)
	for i := range 50 {
		o := Override{
			ID:          int64(100 + i),
			ResponderID: int64(1 + i%10),
			Start:       start.Add(time.Duration(i*14+i%5) * time.Hour),
			CreatedAt:   start.Add(-time.Duration((i*7)%50) * time.Hour),
		}
		o.End = o.Start.Add(time.Duration(1+i%12) * time.Hour)
		if i%2 == 1 {
			o.ReplacesResponderID = int64(1 + (i*3)%10)
		}
		s.Overrides = append(s.Overrides, o)
	}
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkOnCall(b *testing.B) {
	s := benchSchedule(b)
	t := time.Date(2027, 3, 31, 10, 30, 0, 0, s.Location)
	b.ReportAllocs()
	for b.Loop() {
		s.OnCall(t)
	}
}

func BenchmarkShifts31Days(b *testing.B) {
	s := benchSchedule(b)
	from := time.Date(2027, 3, 15, 0, 0, 0, 0, s.Location)
	to := from.AddDate(0, 0, 31)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(s.Shifts(from, to))
	}
	b.ReportMetric(float64(n), "shifts")
}

// BenchmarkLoadMany500: LoadMany of 500 schedules, as the escalation task's batch of 500 alerts of
// 500 tenants loads them, and who is on call in each. Each schedule, of its own tenant and zone
// (ten zones in turn), has three layers (a weekly base, a 12-hour layer restricted to weekday
// business hours, a nightly one), 20 overrides of which 15 have not ended, and 200 ended ones:
// a few years of swaps, which the loader must not read.
func BenchmarkLoadMany500(b *testing.B) {
	pool := dbtest.New(b)
	exec := func(sql string, args ...any) { b.Helper(); dbtest.Exec(b, pool, sql, args...) }
	now := time.Date(2027, 5, 3, 10, 0, 10, 0, time.UTC)
	exec(`insert into tenants (id, name, time_zone)
	      select 't' || i, 't', (array['Europe/Berlin', 'America/Chicago', 'Asia/Kolkata', 'Australia/Sydney', 'UTC',
	             'America/Sao_Paulo', 'Asia/Tokyo', 'Europe/London', 'Pacific/Auckland', 'Africa/Cairo'])[1 + i % 10]
	      from generate_series(1, 500) i`)
	exec(`insert into responders (tenant_id, name) select t.id, 'r' || k from tenants t, generate_series(1, 7) k order by t.id, k`)
	exec(`insert into oncall_schedules (tenant_id, name, time_zone) select id, 'primary', time_zone from tenants order by id`)
	exec(`
		insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
		select s.id, l.name, l.priority, l.start::timestamp at time zone s.time_zone, l.len, l.unit,
		       (select array_agg(r.id order by r.id) from responders r where r.tenant_id = s.tenant_id)[l.lo:l.hi]
		from oncall_schedules s,
		     (values ('base', 1, '2027-01-04 09:00', 1, 'week', 1, 3),
		             ('business', 2, '2027-01-04 09:00', 12, 'hour', 3, 5),
		             ('night', 3, '2027-01-01 22:00', 1, 'day', 5, 6)) l(name, priority, start, len, unit, lo, hi)
		order by s.id, l.priority`)
	exec(`
		insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
		select l.id, d, time '09:00', interval '9 hours' from oncall_layers l, generate_series(1, 5) d where l.name = 'business'
		union all
		select l.id, null, time '22:00', interval '10 hours' from oncall_layers l where l.name = 'night'`)
	exec(`
		insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
		select s.id, r.ids[1 + k % 6], case when k % 2 = 1 then r.ids[1 + (k + 3) % 6] end,
		       $1::timestamptz + (10 * k - 50) * interval '1 hour',
		       $1::timestamptz + (10 * k - 50 + 3 + 4 * (k % 4)) * interval '1 hour',
		       $1::timestamptz - interval '30 days' + k * interval '1 hour'
		from oncall_schedules s
		cross join lateral (select array_agg(id order by id) ids from responders where tenant_id = s.tenant_id) r
		cross join generate_series(0, 19) k
		order by s.id, k`, now)
	exec(`
		insert into oncall_overrides (schedule_id, responder_id, starts_at, ends_at, created_at)
		select s.id, r.ids[1 + k % 6], $1::timestamptz - (k + 10) * interval '1 day',
		       $1::timestamptz - (k + 10) * interval '1 day' + interval '8 hours', $1::timestamptz - (k + 40) * interval '1 day'
		from oncall_schedules s
		cross join lateral (select array_agg(id order by id) ids from responders where tenant_id = s.tenant_id) r
		cross join generate_series(1, 200) k`, now)
	exec(`vacuum analyze`)
	ctx := context.Background()
	rows, err := pool.Query(ctx, `select id from oncall_schedules`)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}
	// One connection, as a batch's transaction has, whose prepared statements stay warm.
	conn, err := pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	b.ReportAllocs()
	for b.Loop() {
		ss, bad, err := LoadMany(ctx, conn, ids, now)
		if err != nil || len(bad) != 0 || len(ss) != len(ids) {
			b.Fatalf("%d schedules, bad %v, err %v", len(ss), bad, err)
		}
		for _, s := range ss {
			if len(s.Overrides) != 15 {
				b.Fatalf("schedule %d: %d overrides, want the 15 not ended", s.ID, len(s.Overrides))
			}
			if _, ok := s.OnCall(now); !ok {
				b.Fatalf("schedule %d: nobody on call", s.ID)
			}
		}
	}
}
