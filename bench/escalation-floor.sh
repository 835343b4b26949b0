#!/bin/bash
# Side-by-side: opsworker's escalation run against the raw-SQL floor, on the same machine, same run.
#
# The floor is one set-based statement that writes exactly the rows an escalation of N due alerts
# writes (2 pages, 1 event and 1 alert update each, and per page one delivery and its River job),
# with nothing else to do: no schedule resolution, no batching, no logging. No real run can beat
# it; the ratio says how close we are. Its rows are the run's, column for column (the pages'
# schedule and times, the event's details, the alert's state), so both pay for the same bytes;
# the round checks that both wrote the same pages, events and jobs.
#
# Usage, from the project's root:  bench/escalation-floor.sh [N] [ROUNDS]
# Needs: PostgreSQL on 127.0.0.1:5432 (user postgres; PGURL=postgres://user@host:port names another
# server) and psql; the schema is opsworker's own migrations. Each round seeds both databases, runs
# the floor, then opsworker; the last line gives the median ratio and its range over the rounds
# (the machine is shared: compare ratios, not times).
# PG_CPU=1 also counts CPU time, which a busy machine inflates far less than wall time: the
# server's (its postmaster, its live children and the backends it reaped: only meaningful on a
# server of your own, on this machine, that nothing else uses) and opsworker's process's.
set -eu
cd "$(dirname "$0")/.."
N=${1:-10000}
ROUNDS=${2:-3}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
export PGOPTIONS="-c client_min_messages=warning"
bin=$(mktemp -d)/opsworker
go build -o "$bin" ./cmd/opsworker
# --at is months ahead of the clock: say it is on purpose, where the CLI asks for that.
future=""
if "$bin" run --help 2>&1 | grep -q -- --allow-future; then future=--allow-future; fi

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

floor_sql="with due as (select id, tenant_id, escalation_policy_id from alerts where status='triggered' and next_escalation_at <= '2027-05-03T00:00:10Z'
             order by next_escalation_at, id limit $N for update skip locked),
oncall as (select min(r.id) as responder_id, min(s.id) as schedule_id from responders r, oncall_schedules s),
ins as (insert into notifications(tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step,
                                  schedule_id, status, next_attempt_at, created_at)
        select d.tenant_id, d.id, r.id, 'escalation', 0, 0, 0, case when r.id = o.responder_id then o.schedule_id end, 'pending',
               '2027-05-03T00:00:10Z', '2027-05-03T00:00:10Z'
        from due d cross join responders r cross join oncall o
        returning id, tenant_id, responder_id),
del as (insert into deliveries(tenant_id, notification_id, contact_method_id, kind)
        select i.tenant_id, i.id, c.id, c.kind from ins i join contact_methods c on c.responder_id = i.responder_id returning id),
job as (insert into river_job(args, kind, max_attempts, queue, state, priority)
        select jsonb_build_object('delivery_id', id), 'delivery', 10, 'delivery', 'available', 1 from del),
details as (select jsonb_build_object('policy_id', p.id, 'schedules', jsonb_build_array(jsonb_build_object('schedule_id', o.schedule_id, 'responder_id', o.responder_id)),
                                      'delay_minutes', 5, 'responder_ids', (select jsonb_agg(id order by id) from responders),
                                      'next_escalation_at', '2027-05-03T00:05:10Z') as d
            from escalation_policies p, oncall o),
ev as (insert into alert_events(tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
       select tenant_id, id, '2027-05-03T00:00:10Z', 'escalated', 0, 0, 0, (select d from details) from due)
update alerts a set escalation_step = 0, escalation_loop = 0, escalation_pass = 0, escalated_policy_id = due.escalation_policy_id,
       escalation_rewound = false, last_escalated_at = '2027-05-03T00:00:10Z',
       next_escalation_at = timestamptz '2027-05-03T00:00:10Z' + interval '5 minutes'
from due where a.id = due.id"

ms() { date +%s%N; }
pgcpu() { echo 0; }
if [ "${PG_CPU:-}" = 1 ]; then
  pm=$(head -1 "$(psql -X -t -A "$PGURL/postgres" -c "show data_directory")/postmaster.pid")
  pgcpu() { # CPU time the server has used, in clock ticks
    local t=0 p f
    for p in $pm $(ps -o pid= --ppid "$pm"); do
      { read -r -a f < "/proc/$p/stat"; } 2>/dev/null || continue
      t=$((t + f[13] + f[14]))
      [ "$p" = "$pm" ] && t=$((t + f[15] + f[16]))
    done
    echo $t
  }
fi
tick=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'
ratios=""; floors=""; runs=""; cpuratios=""
for r in $(seq "$ROUNDS"); do
  seed bench_floor; seed bench_run
  c0=$(pgcpu); t0=$(ms); psql -X -q -v ON_ERROR_STOP=1 "$PGURL/bench_floor" -c "$floor_sql" >/dev/null; t1=$(ms); c1=$(pgcpu)
  client=$( { time DATABASE_URL="$PGURL/bench_run?sslmode=disable" LOG_LEVEL=warn MIGRATE=false DATABASE_WAIT=0s "$bin" run escalation --at 2027-05-03T00:00:10Z $future >/dev/null; } 2>&1 ); t2=$(ms); c2=$(pgcpu)
  done_n=$(psql -X -t -A "$PGURL/bench_run" -c "select count(*) from alerts where escalation_step = 0")
  rows="select (select count(*) from river_job where kind = 'delivery'), (select count(*) from deliveries),
              (select count(*) from notifications where schedule_id is not null), (select count(*) from notifications),
              (select count(distinct details) from alert_events), (select sum(length(details::text)) from alert_events),
              (select count(*) from alerts where escalated_policy_id is not null and next_escalation_at = '2027-05-03T00:05:10Z')"
  run_rows=$(psql -X -t -A "$PGURL/bench_run" -c "$rows"); floor_rows=$(psql -X -t -A "$PGURL/bench_floor" -c "$rows")
  [ "$run_rows" = "$floor_rows" ] || echo "  (not the same rows: opsworker $run_rows, floor $floor_rows)"
  f=$(( (t1 - t0) / 1000000 )); o=$(( (t2 - t1) / 1000000 ))
  ratio=$(awk "BEGIN{printf \"%.2f\", $o/$f}")
  ratios="$ratios $ratio"; floors="$floors $f"; runs="$runs $o"
  cpu=""
  if [ "${PG_CPU:-}" = 1 ]; then
    fc=$(( (c1 - c0) * 1000 / tick )); oc=$(( (c2 - c1) * 1000 / tick )); gc=$(echo "$client" | awk '{printf "%d", ($1 + $2) * 1000}')
    cr=$(awk "BEGIN{printf \"%.2f\", ($oc + $gc)/$fc}"); cpuratios="$cpuratios $cr"
    cpu="; CPU: floor ${fc} ms, opsworker ${oc} ms server + ${gc} ms process, ratio $cr"
  fi
  echo "round $r: floor ${f} ms, opsworker ${o} ms (process start included), escalated $done_n of $N, opsworker/floor = $ratio$cpu$([ "$done_n" = "$N" ] || echo "  (INCOMPLETE RUN)")"
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "%s (%s-%s)", m, v[1], v[NR]}'; }
echo "N=$N, $ROUNDS rounds: opsworker/floor median $(echo $ratios | median); floor ms median $(echo $floors | median); opsworker ms median $(echo $runs | median)$([ -z "$cpuratios" ] || echo "; CPU ratio median $(echo $cpuratios | median)")"
psql -X -q "$PGURL/postgres" -c "drop database if exists bench_floor with (force)" -c "drop database if exists bench_run with (force)" >/dev/null
