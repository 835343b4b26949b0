-- +goose Up
-- Who is on call: tenants, responders and on-call schedules (layers, restrictions, overrides).
-- Written by the platform's other services, read by oncall.Load/LoadMany (see oncall/load.go).
-- The checks reject what the database can see. What it cannot see the loader reports per
-- schedule: a time_zone Go does not know, participants that are not responders of the schedule's
-- tenant (an array has no foreign key), override responders of another tenant.

create table tenants (
    id        text primary key,
    name      text not null,
    time_zone text not null default 'UTC'
);

create table responders (
    id          bigint generated always as identity primary key,
    tenant_id   text not null references tenants (id),
    name        text not null,
    email       text,
    webhook_url text
);
create index responders_tenant_idx on responders (tenant_id);

create table oncall_schedules (
    id        bigint generated always as identity primary key,
    tenant_id text not null references tenants (id),
    name      text not null,
    time_zone text not null default 'UTC'
);
create index oncall_schedules_tenant_idx on oncall_schedules (tenant_id);

create table oncall_layers (
    id             bigint generated always as identity primary key,
    schedule_id    bigint      not null references oncall_schedules (id) on delete cascade,
    name           text        not null default '',
    priority       int         not null,
    rotation_start timestamptz not null check (isfinite(rotation_start)),
    shift_length   int         not null check (shift_length > 0),
    shift_unit     text        not null check (shift_unit in ('hour', 'day', 'week')),
    -- Responder ids in turn order (repeats allowed): one-dimensional, not empty, no nulls.
    participants   bigint[]    not null check (
        cardinality(participants) > 0
        and array_ndims(participants) = 1
        and array_position(participants, null) is null
    ),
    ends_at        timestamptz,
    -- One layer per priority: at most one person is on call at a time. Also serves the
    -- loader's "layers of these schedules".
    unique (schedule_id, priority)
);

create table oncall_layer_restrictions (
    id         bigint generated always as identity primary key,
    layer_id   bigint   not null references oncall_layers (id) on delete cascade,
    start_day  smallint check (start_day between 1 and 7), -- ISO 1=Monday..7=Sunday; null: daily
    start_time time     not null check (start_time < '24:00'),
    duration   interval not null check (
        duration >= interval '1 minute' and duration <= interval '7 days'
        and extract(year from duration) = 0 and extract(month from duration) = 0
    )
);
create index oncall_layer_restrictions_layer_idx on oncall_layer_restrictions (layer_id);

create table oncall_overrides (
    id                    bigint generated always as identity primary key,
    schedule_id           bigint      not null references oncall_schedules (id) on delete cascade,
    responder_id          bigint      not null references responders (id),
    replaces_responder_id bigint      references responders (id),
    starts_at             timestamptz not null check (isfinite(starts_at)),
    ends_at               timestamptz not null check (isfinite(ends_at)),
    created_at            timestamptz not null default now(),
    check (ends_at > starts_at)
);
-- Serves the loader's "overrides of these schedules" and a later "only those not yet ended".
create index oncall_overrides_schedule_idx on oncall_overrides (schedule_id, ends_at);

-- +goose Down
drop table oncall_overrides;
drop table oncall_layer_restrictions;
drop table oncall_layers;
drop table oncall_schedules;
drop table responders;
drop table tenants;
