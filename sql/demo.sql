-- Demo data: a tenant whose next alert pages someone within a minute of being loaded, with a
-- week of history behind it.
--
--   opsworker migrate && psql "$DATABASE_URL" -f sql/demo.sql
--
-- Tenant "demo" (Europe/Berlin), three responders (Alice, Bob, Carol), and schedule "Demo
-- on-call" with two layers: a weekly primary (Alice, Bob; handoff Monday 09:00) active only in
-- office hours (Mon-Fri 09:00-18:00), and under it a daily secondary (Carol, Alice, Bob; handoff
-- 09:00) that covers nights and weekends; both rotations began weeks ago. On top, an override:
-- Carol takes the whole schedule from 10 minutes before the load to 2 hours after it. Policy
-- "Demo: on call, then Bob": step 0 pages the schedule and waits 1 minute, step 1 pages Bob
-- directly and waits 5; an acknowledgement times out after 30 minutes.
--
-- Every responder gets a webhook contact method: the address in the session setting
-- opsworker.demo_webhook (`opsworker demo --webhook URL`; default http://receiver:8090/, the
-- receiver service of compose's demo profile), signed with the demo tenant's secret
-- whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0 (a published demo secret: never use it for real).
--
-- The week before the load: about 25 alerts in the tenant's zone (nights, office hours, a
-- weekend), each escalated as the worker would have — step 0 to whoever was on call, step 1 to Bob
-- when nobody acknowledged within a minute, policy_exhausted for one nobody acknowledged in time
-- — with their pages and webhook deliveries sent, acknowledged by the last person paged and
-- resolved minutes later. All are resolved, so the worker pages none of them. The tenant was
-- created 8 days before the load, so the report task reports those days: `opsworker run report`
-- writes the seven reports at once (REPORT_SCHEDULE, @daily by default, would write them at its
-- next firing). The run history (job_runs) is the scheduler's alone: the demo writes none.
--
-- Times are relative to the load, so it works whenever it is loaded. Loading it again is safe:
-- the tenant and everything it owns, its history included, are created only when tenant "demo"
-- does not exist yet (the override is then not renewed), and every load adds one new triggered
-- alert, due at once, so the worker's next run logs its first page (to Carol while the override
-- lasts) and a minute later the second (to Bob).
begin;

do $$
declare
    berlin_today timestamp := date_trunc('day', now() at time zone 'Europe/Berlin');
    -- The rotations' first handoffs, Berlin time: both keep today's turns (Alice or Bob this week
    -- in office hours, Carol from yesterday 09:00 otherwise) and cover the week of history.
    primary_start   timestamp := date_trunc('week', berlin_today) - interval '3 weeks' + interval '9 hours';
    secondary_start timestamp := berlin_today - interval '16 days' + interval '9 hours';
    alice        bigint;
    bob          bigint;
    carol        bigint;
    sched        bigint;
    office_layer bigint;
    pol          bigint;
    -- The history's loop.
    h            record;
    created      timestamptz;
    lt           timestamp;
    first_paged  bigint;
    last_paged   bigint;
    last_step    int;
    hist_alert   bigint;
    names        text[];
begin
    if exists (select 1 from tenants where id = 'demo') then
        return;
    end if;
    insert into tenants (id, name, time_zone, webhook_secret, created_at)
        values ('demo', 'Demo GmbH', 'Europe/Berlin', 'whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0',
                (berlin_today - interval '8 days') at time zone 'Europe/Berlin');
    insert into responders (tenant_id, name, email) values ('demo', 'Alice', 'alice@demo.example') returning id into alice;
    insert into responders (tenant_id, name, email) values ('demo', 'Bob', 'bob@demo.example') returning id into bob;
    insert into responders (tenant_id, name, email) values ('demo', 'Carol', 'carol@demo.example') returning id into carol;
    -- The migration that added contact_methods copied e-mail addresses; the demo pages by webhook.
    delete from contact_methods where tenant_id = 'demo';
    insert into contact_methods (tenant_id, responder_id, kind, address)
    select 'demo', r, 'webhook', coalesce(nullif(current_setting('opsworker.demo_webhook', true), ''), 'http://receiver:8090/')
    from unnest(array[alice, bob, carol]) r;

    insert into oncall_schedules (tenant_id, name, time_zone) values ('demo', 'Demo on-call', 'Europe/Berlin')
        returning id into sched;
    -- Weekly primary: handoff at 09:00 on Mondays, Berlin time.
    insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
        values (sched, 'Primary (office hours)', 2, primary_start at time zone 'Europe/Berlin', 1, 'week', array[alice, bob])
        returning id into office_layer;
    insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
        select office_layer, d, time '09:00', interval '9 hours' from generate_series(1, 5) d;
    -- Daily secondary: handoff at 09:00, Berlin time; shows where the primary is off.
    insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
        values (sched, 'Secondary (daily)', 1, secondary_start at time zone 'Europe/Berlin', 1, 'day', array[carol, alice, bob]);
    insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
        values (sched, carol, null, now() - interval '10 minutes', now() + interval '2 hours', now());

    insert into escalation_policies (tenant_id, name, repeat_count, ack_timeout_minutes)
        values ('demo', 'Demo: on call, then Bob', 0, 30)
        returning id into pol;
    insert into escalation_steps (policy_id, position, delay_minutes) values (pol, 0, 1), (pol, 1, 5);
    insert into escalation_step_targets (policy_id, position, schedule_id) values (pol, 0, sched);
    insert into escalation_step_targets (policy_id, position, responder_id) values (pol, 1, bob);

    -- The week of history, oldest first: days before today, local time, and how long until
    -- acknowledged and resolved. Step 0 pages whoever was on call (the primary in office hours,
    -- else the secondary: the rotations above, computed on Berlin wall-clock time as the oncall
    -- package does), step 1 Bob a minute later if nobody had acknowledged, and five minutes after
    -- that the policy is exhausted.
    names := array['Alice', 'Bob', 'Carol'];
    for h in
        select * from (values
            (7, time '02:47', 'db-1', 'replication lag above 30s', 'critical', interval '4 minutes', interval '22 minutes'),
            (7, time '10:15', 'checkout-api', 'p99 latency above 2s', 'warning', interval '40 seconds', interval '18 minutes'),
            (7, time '14:32', 'checkout-api', 'error rate above 5%', 'critical', interval '45 seconds', interval '25 minutes'),
            (6, time '09:05', 'payments', 'card processor timeouts', 'critical', interval '50 seconds', interval '14 minutes'),
            (6, time '11:48', 'db-1', 'disk 90% full', 'warning', interval '3 minutes', interval '31 minutes'),
            (6, time '19:20', 'web', 'TLS certificate expires in 7 days', 'info', interval '9 minutes', interval '20 minutes'),
            (6, time '23:55', 'queue', 'consumer backlog above 10k', 'critical', interval '5 minutes', interval '28 minutes'),
            (5, time '08:12', 'checkout-api', 'p99 latency above 2s', 'warning', interval '50 seconds', interval '12 minutes'),
            (5, time '13:40', 'search', 'index build failed', 'warning', interval '35 seconds', interval '26 minutes'),
            (5, time '16:05', 'checkout-api', 'error rate above 5%', 'critical', interval '55 seconds', interval '9 minutes'),
            (4, time '03:30', 'db-1', 'replication lag above 30s', 'critical', interval '3 minutes 20 seconds', interval '33 minutes'),
            (4, time '10:50', 'payments', 'card processor timeouts', 'critical', interval '45 seconds', interval '21 minutes'),
            (4, time '12:10', 'web', '5xx rate above 1%', 'warning', interval '40 seconds', interval '17 minutes'),
            (4, time '21:15', 'queue', 'consumer backlog above 10k', 'warning', interval '4 minutes', interval '24 minutes'),
            (3, time '09:30', 'checkout-api', 'p99 latency above 2s', 'warning', interval '30 seconds', interval '11 minutes'),
            (3, time '15:22', 'db-1', 'disk 90% full', 'warning', interval '55 seconds', interval '29 minutes'),
            (2, time '01:05', 'web', 'TLS handshake errors', 'critical', interval '5 minutes 30 seconds', interval '35 minutes'),
            (2, time '11:00', 'search', 'query latency above 1s', 'warning', interval '50 seconds', interval '15 minutes'),
            (2, time '17:45', 'checkout-api', 'error rate above 5%', 'critical', interval '40 seconds', interval '13 minutes'),
            (1, time '04:20', 'queue', 'consumer backlog above 10k', 'critical', interval '2 minutes 40 seconds', interval '19 minutes'),
            (1, time '09:55', 'payments', 'card processor timeouts', 'critical', interval '25 seconds', interval '8 minutes'),
            (1, time '14:05', 'db-1', 'disk 95% full', 'critical', interval '35 seconds', interval '27 minutes'),
            (1, time '16:30', 'checkout-api', 'p99 latency above 2s', 'warning', interval '55 seconds', interval '16 minutes'),
            (1, time '22:40', 'web', '5xx rate above 1%', 'warning', interval '3 minutes 50 seconds', interval '23 minutes')
        ) as v(days_ago, local_time, source, summary, severity, ack_after, resolve_after)
    loop
        lt := berlin_today - make_interval(days => h.days_ago) + h.local_time;
        created := lt at time zone 'Europe/Berlin';
        if extract(isodow from lt) between 1 and 5 and lt::time >= time '09:00' and lt::time < time '18:00' then
            first_paged := (array[alice, bob])[(floor(extract(epoch from lt - primary_start) / (7 * 86400))::int % 2) + 1];
        else
            first_paged := (array[carol, alice, bob])[(floor(extract(epoch from lt - secondary_start) / 86400)::int % 3) + 1];
        end if;
        last_paged := first_paged;
        last_step := 0;
        if h.ack_after > interval '1 minute' then
            last_paged := bob;
            last_step := 1;
        end if;

        insert into alerts (tenant_id, source, summary, severity, status, escalation_policy_id, created_at,
                            acknowledged_at, acknowledged_by, resolved_at, escalation_step, escalation_loop,
                            escalation_pass, escalated_policy_id, last_escalated_at, next_escalation_at)
            values ('demo', h.source, h.summary, h.severity, 'resolved', pol, created,
                    created + h.ack_after, names[array_position(array[alice, bob, carol], last_paged)], created + h.resolve_after,
                    last_step, 0, 0, pol, created + make_interval(mins => last_step), null)
            returning id into hist_alert;

        -- Step 0, and step 1 when nobody acknowledged within its minute.
        insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
            select 'demo', hist_alert, created + make_interval(mins => s), 'escalated', 0, 0, s,
                   jsonb_build_object('policy_id', pol, 'responder_ids', jsonb_build_array(r),
                                      'schedules', case when s = 0 then jsonb_build_array(jsonb_build_object('schedule_id', sched, 'responder_id', r))
                                                        else '[]'::jsonb end,
                                      'delay_minutes', case when s = 0 then 1 else 5 end,
                                      'next_escalation_at', created + make_interval(mins => case when s = 0 then 1 else 6 end))
            from (values (0, first_paged), (1, bob)) as p(s, r)
            where s <= last_step;
        if h.ack_after > interval '6 minutes' then
            insert into alert_events (tenant_id, alert_id, at, event, escalation_pass, escalation_loop, escalation_step, details)
                values ('demo', hist_alert, created + interval '6 minutes', 'policy_exhausted', 0, 0, 1,
                        jsonb_build_object('policy_id', pol, 'repeat_count', 0));
        end if;
        with pages as (
            insert into notifications (tenant_id, alert_id, responder_id, kind, escalation_pass, escalation_loop, escalation_step,
                                       schedule_id, status, attempts, next_attempt_at, created_at, sent_at)
                select 'demo', hist_alert, r, 'escalation', 0, 0, s, case when s = 0 then sched end, 'sent', 1,
                       created + make_interval(mins => s), created + make_interval(mins => s),
                       created + make_interval(mins => s, secs => 2)
                from (values (0, first_paged), (1, bob)) as p(s, r)
                where s <= last_step
                returning id, responder_id, created_at
        )
        insert into deliveries (tenant_id, notification_id, contact_method_id, kind, status, attempts, response_code,
                                created_at, sent_at, finished_at)
            select 'demo', pages.id, c.id, c.kind, 'sent', 1, 200, pages.created_at,
                   pages.created_at + interval '2 seconds', pages.created_at + interval '2 seconds'
            from pages join contact_methods c on c.responder_id = pages.responder_id and c.enabled;
    end loop;
end
$$;

insert into alerts (tenant_id, source, summary, severity, escalation_policy_id, next_escalation_at)
select 'demo', 'demo', 'db-1: disk 95% full', 'critical', p.id, now()
from escalation_policies p
where p.tenant_id = 'demo' and p.name = 'Demo: on call, then Bob'
order by p.id
limit 1;

commit;

-- -----------------------------------------------------------------------------------------------
-- Handoff notices and heartbeat monitors (issue 21). Added once per database (when the demo
-- tenant has no heartbeat monitor yet), to the demo data above:
--
-- * Bob takes over the demo schedule a few minutes after the load: an override of the whole
--   schedule from the next minute + 3 (newer than Carol's, so it wins) for 2 hours. The handoff
--   task tells Bob at once (his shift starts within HANDOFF_LEAD) and the subscription below at
--   the handoff, "Bob is now on call for Demo on-call until … , after Carol." (oncall.changed). An
--   override rather than another layer keeps the schedule's two layers as they are.
-- * A subscription of the schedule: a webhook to the demo receiver (opsworker.demo_webhook).
-- * Heartbeat monitor "demo backup", expecting a ping every 60 seconds on the published demo
--   token demo-heartbeat-token-0001 (`opsworker heartbeat ping demo-heartbeat-token-0001`, or
--   `curl -X POST http://127.0.0.1:8080/heartbeat/demo-heartbeat-token-0001`); unpinged, it
--   opens an alert a minute after the load, which the demo policy escalates; a ping resolves it.
begin;

do $$
declare
    handoff_at timestamptz := date_trunc('minute', now()) + interval '4 minutes';
    sched      bigint;
    pol        bigint;
    bob        bigint;
begin
    if exists (select 1 from heartbeat_monitors where tenant_id = 'demo') then
        return;
    end if;
    select id into sched from oncall_schedules where tenant_id = 'demo' and name = 'Demo on-call' order by id limit 1;
    select id into pol from escalation_policies where tenant_id = 'demo' and name = 'Demo: on call, then Bob' order by id limit 1;
    select id into bob from responders where tenant_id = 'demo' and name = 'Bob' order by id limit 1;
    insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
        values (sched, bob, null, handoff_at, handoff_at + interval '2 hours', clock_timestamp());
    insert into schedule_subscriptions (tenant_id, schedule_id, kind, address)
        values ('demo', sched, 'webhook', coalesce(nullif(current_setting('opsworker.demo_webhook', true), ''), 'http://receiver:8090/'));
    insert into heartbeat_monitors (tenant_id, name, interval_seconds, escalation_policy_id, token)
        values ('demo', 'demo backup', 60, pol, 'demo-heartbeat-token-0001');
end
$$;

commit;
