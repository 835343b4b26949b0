-- Demo data: a tenant whose next alert pages someone within a minute of being loaded.
--
--   opsworker migrate && psql "$DATABASE_URL" -f sql/demo.sql
--
-- Tenant "demo" (Europe/Berlin), three responders (Alice, Bob, Carol), and schedule "Demo
-- on-call" with two layers: a weekly primary (Alice, Bob; handoff Monday 09:00) active only in
-- office hours (Mon-Fri 09:00-18:00), and under it a daily secondary (Carol, Alice, Bob; handoff
-- 09:00) that covers nights and weekends. On top, an override: Carol takes the whole schedule
-- from 10 minutes before the load to 2 hours after it. Policy "Demo: on call, then Bob": step 0
-- pages the schedule and waits 1 minute, step 1 pages Bob directly; an acknowledgement times
-- out after 30 minutes.
--
-- Every responder gets a webhook contact method: the address in the session setting
-- opsworker.demo_webhook (`opsworker demo --webhook URL`; default http://receiver:8090/, the
-- receiver service of compose's demo profile), signed with the demo tenant's secret
-- whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0 (a published demo secret: never use it for real).
--
-- Times are relative to the load, so it works whenever it is loaded. Loading it again is safe:
-- the tenant and everything it owns are created only when tenant "demo" does not exist yet (the
-- override is then not renewed), and every load adds one new triggered alert, due at once, so
-- the worker's next run logs its first page (to Carol while the override lasts) and a minute
-- later the second (to Bob).
begin;

do $$
declare
    berlin_today timestamp := date_trunc('day', now() at time zone 'Europe/Berlin');
    alice        bigint;
    bob          bigint;
    carol        bigint;
    sched        bigint;
    office_layer bigint;
    pol          bigint;
begin
    if exists (select 1 from tenants where id = 'demo') then
        return;
    end if;
    insert into tenants (id, name, time_zone, webhook_secret)
        values ('demo', 'Demo GmbH', 'Europe/Berlin', 'whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0');
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
    -- Weekly primary: handoff at 09:00 on the Monday of last week, Berlin time.
    insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
        values (sched, 'Primary (office hours)', 2,
                (date_trunc('week', berlin_today) - interval '1 week' + interval '9 hours') at time zone 'Europe/Berlin',
                1, 'week', array[alice, bob])
        returning id into office_layer;
    insert into oncall_layer_restrictions (layer_id, start_day, start_time, duration)
        select office_layer, d, time '09:00', interval '9 hours' from generate_series(1, 5) d;
    -- Daily secondary: handoff at 09:00 yesterday, Berlin time; shows where the primary is off.
    insert into oncall_layers (schedule_id, name, priority, rotation_start, shift_length, shift_unit, participants)
        values (sched, 'Secondary (daily)', 1,
                (berlin_today - interval '1 day' + interval '9 hours') at time zone 'Europe/Berlin',
                1, 'day', array[carol, alice, bob]);
    insert into oncall_overrides (schedule_id, responder_id, replaces_responder_id, starts_at, ends_at, created_at)
        values (sched, carol, null, now() - interval '10 minutes', now() + interval '2 hours', now());

    insert into escalation_policies (tenant_id, name, repeat_count, ack_timeout_minutes)
        values ('demo', 'Demo: on call, then Bob', 0, 30)
        returning id into pol;
    insert into escalation_steps (policy_id, position, delay_minutes) values (pol, 0, 1), (pol, 1, 5);
    insert into escalation_step_targets (policy_id, position, schedule_id) values (pol, 0, sched);
    insert into escalation_step_targets (policy_id, position, responder_id) values (pol, 1, bob);
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
