package handoff_test

import (
	"testing"
	"time"

	"github.com/opsworker/opsworker/tasks/handoff"
)

// BenchmarkRun10k is one minute's run over 10,000 schedules (hourly and daily rotations of two
// responders in three zones, a subscription each), the cursors a minute behind: a typical run,
// in which a sixtieth of the hourly schedules hand off.
//
//	go test -run='^$' -bench=Run10k -benchtime=1x -count=5 ./tasks/handoff/
func BenchmarkRun10k(b *testing.B) {
	f := newFixture(b)
	f.exec(`
insert into tenants (id, name) values ('t', 't');
insert into responders (tenant_id, name) select 't', 'r' || g from generate_series(1, 200) g;
insert into contact_methods (tenant_id, responder_id, kind, address) select 't', id, 'webhook', 'https://h.example.com' from responders;
insert into oncall_schedules (tenant_id, name, time_zone)
    select 't', 's' || g, (array['UTC', 'Europe/Berlin', 'America/New_York'])[1 + g % 3] from generate_series(1, 10000) g;
insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
    select id, 'l', 1, '2027-05-01T00:00:00Z'::timestamptz + (id % 1440) * interval '1 minute', 1,
           case when id % 2 = 0 then 'hour' else 'day' end, array[1 + id % 200, 1 + (id + 1) % 200]
    from oncall_schedules;
insert into schedule_subscriptions (tenant_id, schedule_id, kind, address) select 't', id, 'slack', 'https://h.example.com' from oncall_schedules;
analyze;`)
	task := handoff.New(f.pool, handoff.Options{Lead: 15 * time.Minute, Deliveries: f.enq})
	now := time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
	f.run(task, now) // the cursors
	now = now.Add(time.Minute)
	f.run(task, now) // the lead's first window
	b.ResetTimer()
	for range b.N {
		now = now.Add(time.Minute)
		s := f.run(task, now)
		if s["schedules"] != 10000 {
			b.Fatalf("summary %v", s)
		}
		b.ReportMetric(float64(s["notices"].(int)), "notices/op")
	}
}
