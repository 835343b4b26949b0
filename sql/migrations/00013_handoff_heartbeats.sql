-- +goose Up
-- opsworker:additive
-- Handoff notices and heartbeat monitors (DESIGN.md, "Handoff notices", "Heartbeat monitors";
-- tasks/handoff, tasks/heartbeats). New tables only: older builds do not know them and keep
-- working.

-- The handoff outbox: one row per (schedule, change instant, kind, recipient), unique with nulls
-- not distinct, so replicas and reruns never notify twice. A 'changed' row is for a subscription
-- (told at the change), an 'upcoming' row for the responder who comes on call (told HANDOFF_LEAD
-- before, through their contact methods). notice is the message as it was computed (who comes on,
-- who goes off, until when): skipped rows keep what they would have said. status: pending (its
-- deliveries are queued; delivery rolls it up to sent or failed like a page's), skipped (the
-- change was more than an hour old when the worker came to it: recorded, never sent), failed
-- (no recipient could be queued, last_error says why).
-- subscription_id and responder_id have no foreign keys: the rows are history and outlive the
-- subscriptions and people they name. A schedule's rows go with it.
create table handoff_notices (
    id              bigint generated always as identity primary key,
    tenant_id       text        not null,
    schedule_id     bigint      not null references oncall_schedules (id) on delete cascade,
    change_at       timestamptz not null,
    kind            text        not null check (kind in ('changed', 'upcoming')),
    subscription_id bigint,
    responder_id    bigint,
    status          text        not null default 'pending' check (status in ('pending', 'sent', 'skipped', 'failed')),
    last_error      text,
    notice          jsonb       not null,
    created_at      timestamptz not null default now(),
    check ((kind = 'changed') = (subscription_id is not null)),
    check ((kind = 'upcoming') = (responder_id is not null))
);
-- Exactly once per recipient of a change; also serves a schedule's notices in time order.
create unique index handoff_notices_once_idx on handoff_notices (schedule_id, change_at, kind, subscription_id, responder_id)
    nulls not distinct;

-- How far each schedule's changes have been covered: changed_through for the notices told at the
-- change, upcoming_through for those told HANDOFF_LEAD before (the run's now + lead). A run
-- covers (changed_through, now] and (upcoming_through, now + lead], then moves both; they never
-- move back. A schedule gets its row on the first run that sees it, covered from then on.
-- Every run moves every row: no index but the key's, and room on each page, so the updates are
-- HOT (no index entries, no bloat); a run walks the key in order (keyset batches).
create table handoff_cursors (
    schedule_id      bigint      primary key references oncall_schedules (id) on delete cascade,
    tenant_id        text        not null,
    changed_through  timestamptz not null,
    upcoming_through timestamptz not null,
    updated_at       timestamptz not null
) with (fillfactor = 50);

-- The digest a ping looks a token up by. convert_to is only stable because conversions are in a
-- catalog; to UTF8 from a database's fixed encoding it is immutable, as a generated column needs.
-- +goose StatementBegin
create function opsworker_token_sha256(token text) returns bytea
    language sql immutable strict parallel safe
    return sha256(convert_to(token, 'UTF8'));
-- +goose StatementEnd

-- A heartbeat monitor: a job that must ping /heartbeat/<token> at least every interval_seconds.
-- token is the credential (never logged); token_sha256 is what a ping looks up, so the lookup's
-- time says nothing about how close a guess was. alert_id is the open outage's alert (null: none):
-- the heartbeats task sets it when it opens one and clears it when pings return. A disabled
-- monitor still records pings but never alerts.
create table heartbeat_monitors (
    id                   bigint generated always as identity primary key,
    tenant_id            text        not null references tenants (id),
    name                 text        not null check (name <> ''),
    interval_seconds     int         not null check (interval_seconds between 60 and 604800),
    escalation_policy_id bigint,
    token                text        not null unique check (length(token) between 16 and 256),
    token_sha256         bytea       not null generated always as (opsworker_token_sha256(token)) stored,
    enabled              boolean     not null default true,
    last_ping_at         timestamptz,
    alert_id             bigint      references alerts (id) on delete set null,
    created_at           timestamptz not null default now()
);
-- Serves a ping.
create unique index heartbeat_monitors_token_sha256_idx on heartbeat_monitors (token_sha256);
-- Serve the task: the enabled monitors without an open alert (is each silent?), and those with
-- one (have pings returned?).
create index heartbeat_monitors_watch_idx on heartbeat_monitors (id) where enabled and alert_id is null;
create index heartbeat_monitors_alert_idx on heartbeat_monitors (alert_id) where alert_id is not null;

-- +goose Down
drop table heartbeat_monitors;
drop function opsworker_token_sha256(text);
drop table handoff_cursors;
drop table handoff_notices;
