-- +goose Up
-- Escalation: policies and their steps (written by the platform's API), alerts (written by the
-- API, their escalation columns by the worker), the notifications outbox and the alerts' timeline
-- (written by the worker). See DESIGN.md, "Schema contract" and "Escalation semantics", and
-- tasks/escalation.
--
-- Foreign keys, and why some are missing: other services write these tables, and the worker must
-- survive bad data rather than have other services' writes fail because of it.
-- * A policy belongs to an existing tenant, like responders and schedules (00002): deleting a
--   tenant means deleting its people, schedules and policies first.
-- * Structure a policy owns (steps, targets) cascades from it: a step without its policy means
--   nothing.
-- * A step target cascades from the responder or schedule it pages: a target naming a deleted
--   responder pages nobody, so it goes with it; RESTRICT would make the API's delete of a
--   responder fail, which is the API's policy to decide, not ours. A step left with no targets
--   is reported by the worker as an escalation_error ("step_has_no_targets") and still advances,
--   so the later steps page someone.
-- * alerts has no foreign key to tenants (an alert of an unknown tenant must still be stored:
--   the worker records the problem) nor to escalation_policies (deleting a policy must not
--   rewrite or block the history of every alert that once used it; the worker treats a missing
--   policy as no_policy).
-- * notifications and alert_events belong to their alert and cascade from it; they name
--   responders and schedules without foreign keys, because they are history: they must outlive
--   the people and schedules they mention.

create table escalation_policies (
    id                  bigint generated always as identity primary key,
    tenant_id           text not null references tenants (id),
    name                text not null,
    -- How many more times the whole policy runs after its last step.
    repeat_count        int  not null default 0 check (repeat_count between 0 and 9),
    -- An alert acknowledged this long ago and not resolved is triggered again (null: never).
    ack_timeout_minutes int  check (ack_timeout_minutes > 0)
);

create index escalation_policies_tenant_idx on escalation_policies (tenant_id);

create table escalation_steps (
    policy_id     bigint not null references escalation_policies (id) on delete cascade,
    position      int    not null check (position >= 0),
    -- After paging this step, wait this long before paging the next one.
    delay_minutes int    not null check (delay_minutes >= 1),
    primary key (policy_id, position)
);

create table escalation_step_targets (
    id           bigint generated always as identity primary key,
    policy_id    bigint not null,
    position     int    not null,
    responder_id bigint references responders (id) on delete cascade,
    schedule_id  bigint references oncall_schedules (id) on delete cascade,
    foreign key (policy_id, position) references escalation_steps (policy_id, position)
        on delete cascade on update cascade,
    check (num_nonnulls(responder_id, schedule_id) = 1)
);

-- The worker reads the targets of many policies at once; the deletes that cascade from a
-- responder or a schedule find their targets without scanning the table.
create index escalation_step_targets_step_idx on escalation_step_targets (policy_id, position);
create index escalation_step_targets_responder_idx on escalation_step_targets (responder_id)
    where responder_id is not null;
create index escalation_step_targets_schedule_idx on escalation_step_targets (schedule_id)
    where schedule_id is not null;

create table alerts (
    id                   bigint generated always as identity primary key,
    tenant_id            text        not null,
    source               text        not null,
    summary              text        not null,
    severity             text        not null default 'critical',
    status               text        not null default 'triggered'
        check (status in ('triggered', 'acknowledged', 'resolved')),
    escalation_policy_id bigint,
    created_at           timestamptz not null default now(),
    acknowledged_at      timestamptz,
    -- Who acknowledged, as the acknowledging service names them (a user, an integration).
    acknowledged_by      text,
    resolved_at          timestamptz,
    -- The worker's columns: the position last paged (null: none yet), the pass through the
    -- policy (0 the first), when it last paged, and when it pages next (null: never again).
    escalation_step      int check (escalation_step >= 0),
    escalation_loop      int         not null default 0 check (escalation_loop >= 0),
    last_escalated_at    timestamptz,
    next_escalation_at   timestamptz default now()
);

-- Finds the due alerts (status = 'triggered' and next_escalation_at <= now) in claim order,
-- reading only the due ones: the others sort after now, and acknowledged, resolved and
-- exhausted alerts are not in the index at all.
create index alerts_due_idx on alerts (next_escalation_at, id)
    where status = 'triggered' and next_escalation_at is not null;
-- Serves the ack timeout pass: per policy with a timeout, the acknowledged alerts acknowledged
-- before now - timeout. Only acknowledged alerts are in it.
create index alerts_acknowledged_idx on alerts (escalation_policy_id, acknowledged_at)
    where status = 'acknowledged';

create table notifications (
    id              bigint generated always as identity primary key,
    tenant_id       text        not null,
    alert_id        bigint      not null references alerts (id) on delete cascade,
    responder_id    bigint      not null,
    kind            text        not null,
    escalation_loop int         not null,
    escalation_step int         not null,
    -- The schedule through which the responder was reached (null: paged directly).
    schedule_id     bigint,
    status          text        not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    attempts        int         not null default 0 check (attempts >= 0),
    next_attempt_at timestamptz not null default now(),
    last_error      text,
    created_at      timestamptz not null default now(),
    sent_at         timestamptz,
    -- One page per responder per step of a pass: a retried escalation inserts nothing twice.
    -- Also serves "the notifications of an alert".
    unique (alert_id, escalation_loop, escalation_step, responder_id)
);

-- Serves the delivery task: pending notifications whose attempt is due.
create index notifications_pending_idx on notifications (next_attempt_at) where status = 'pending';

create table alert_events (
    id              bigint generated always as identity primary key,
    tenant_id       text        not null,
    alert_id        bigint      not null references alerts (id) on delete cascade,
    at              timestamptz not null,
    event           text        not null,
    escalation_loop int,
    escalation_step int,
    details         jsonb       not null default '{}'
);

-- Serves an alert's timeline.
create index alert_events_alert_idx on alert_events (alert_id, at);

-- +goose Down
drop table alert_events;
drop table notifications;
drop table alerts;
drop table escalation_step_targets;
drop table escalation_steps;
drop table escalation_policies;
