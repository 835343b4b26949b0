#!/bin/bash
# Side-by-side: opsworker's escalation run against the raw-SQL floor, on the same machine, same run.
#
# The floor is one set-based statement that writes exactly the rows an escalation of N due alerts
# writes (2 pages, 1 event and 1 alert update each, and per page one delivery and its River job),
# with nothing else to do: no schedule resolution, no batching, no logging. No real run can beat
# it; the ratio says how close we are.
#
# Usage, from the project's root:  bench/escalation-floor.sh [N] [ROUNDS]
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres) and psql; the schema is opsworker's own migrations.
set -eu
cd "$(dirname "$0")/.."
N=${1:-10000}
ROUNDS=${2:-3}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS="-c client_min_messages=warning"
bin=$(mktemp -d)/opsworker
go build -o "$bin" ./cmd/opsworker

seed() { # $1 database: migrate, then N due alerts on a policy whose step 0 pages a schedule and a responder
  psql -X -q "$PGURL/postgres" -c "drop database if exists $1 with (force)" -c "create database $1" >/dev/null
  DATABASE_URL="$PGURL/$1?sslmode=disable" LOG_LEVEL=warn "$bin" migrate >/dev/null
  psql -X -q -v ON_ERROR_STOP=1 "$PGURL/$1" >/dev/null <<SQL
insert into tenants(id, name, time_zone, webhook_secret) values ('t1','T1','UTC','whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
insert into responders(tenant_id, name) values ('t1','a'),('t1','b');
insert into contact_methods(tenant_id, responder_id, kind, address) select 't1', id, 'webhook', 'https://hooks.example/' || id from responders;
insert into oncall_schedules(tenant_id, name, time_zone) values ('t1','s','UTC');
insert into oncall_layers(schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
  select id, 'l', 0, '2027-01-01T00:00:00Z', 1, 'day', array[(select min(id) from responders)] from oncall_schedules;
insert into escalation_policies(tenant_id, name, repeat_count) values ('t1','p',0);
insert into escalation_steps(policy_id, position, delay_minutes) select id, 0, 5 from escalation_policies;
insert into escalation_step_targets(policy_id, position, schedule_id) select p.id, 0, s.id from escalation_policies p, oncall_schedules s;
insert into escalation_step_targets(policy_id, position, responder_id) select p.id, 0, (select max(id) from responders) from escalation_policies p;
insert into alerts(tenant_id, source, summary, escalation_policy_id, created_at, next_escalation_at)
  select 't1','bench','b',(select id from escalation_policies),'2027-05-03T00:00:00Z','2027-05-03T00:00:00Z' from generate_series(1,$N);
vacuum analyze;
SQL
}

floor_sql="with due as (select id, tenant_id from alerts where status='triggered' and next_escalation_at <= '2027-05-03T00:00:10Z'
             order by next_escalation_at limit $N for update skip locked),
ins as (insert into notifications(tenant_id, alert_id, responder_id, kind, escalation_loop, escalation_step, status)
        select d.tenant_id, d.id, r.id, 'escalation', 0, 0, 'pending' from due d cross join responders r on conflict do nothing
        returning id, tenant_id, responder_id),
del as (insert into deliveries(tenant_id, notification_id, contact_method_id, kind)
        select i.tenant_id, i.id, c.id, c.kind from ins i join contact_methods c on c.responder_id = i.responder_id returning id),
job as (insert into river_job(args, kind, max_attempts, queue, state, priority)
        select jsonb_build_object('delivery_id', id), 'delivery', 10, 'delivery', 'available', 1 from del),
ev as (insert into alert_events(tenant_id, alert_id, at, event, escalation_loop, escalation_step, details)
       select tenant_id, id, '2027-05-03T00:00:10Z', 'escalated', 0, 0, '{}' from due)
update alerts a set escalation_step = 0, escalation_loop = 0, last_escalated_at = '2027-05-03T00:00:10Z',
       next_escalation_at = timestamptz '2027-05-03T00:00:10Z' + interval '5 minutes'
from due where a.id = due.id"

ms() { date +%s%N; }
for r in $(seq "$ROUNDS"); do
  seed bench_floor; seed bench_run
  t0=$(ms); psql -X -q -v ON_ERROR_STOP=1 "$PGURL/bench_floor" -c "$floor_sql" >/dev/null; t1=$(ms)
  DATABASE_URL="$PGURL/bench_run?sslmode=disable" LOG_LEVEL=warn MIGRATE=false DATABASE_WAIT=0s "$bin" run escalation --at 2027-05-03T00:00:10Z >/dev/null; t2=$(ms)
  done_n=$(psql -X -t -A "$PGURL/bench_run" -c "select count(*) from alerts where escalation_step = 0")
  jobs_n=$(psql -X -t -A "$PGURL/bench_run" -c "select count(*) from river_job where kind = 'delivery'")
  floor_jobs=$(psql -X -t -A "$PGURL/bench_floor" -c "select count(*) from river_job where kind = 'delivery'")
  [ "$jobs_n" = "$floor_jobs" ] || echo "  (jobs: opsworker $jobs_n, floor $floor_jobs: not the same rows)"
  f=$(( (t1 - t0) / 1000000 )); o=$(( (t2 - t1) / 1000000 ))
  echo "round $r: floor ${f} ms, opsworker ${o} ms (process start included), escalated $done_n of $N, opsworker/floor = $(awk "BEGIN{printf \"%.2f\", $o/$f}")$([ "$done_n" = "$N" ] || echo "  (INCOMPLETE RUN)")"
done
psql -X -q "$PGURL/postgres" -c "drop database if exists bench_floor with (force)" -c "drop database if exists bench_run with (force)" >/dev/null
