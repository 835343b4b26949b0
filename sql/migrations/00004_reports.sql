-- +goose Up
-- Daily reports (tasks/report) and the indexes their queries need on 00003's tables.

-- One row per tenant, kind and local date, written once and never updated. Two unique keys, and
-- the insert is ON CONFLICT DO NOTHING without a conflict target, so a clash on either makes a
-- re-run or a second replica insert nothing:
-- - (tenant_id, kind, period_date) is what "already reported" means: the tenant's local date. It
--   survives a change of the tenant's zone, which moves every date's period_start (a tenant
--   moved from UTC to Europe/Berlin must not get a second report of each date already
--   reported). It serves "which days have a report".
-- - (tenant_id, kind, period_start) is part of the schema contract other services rely on; it
--   serves "a tenant's reports by period".
create table reports (
    id           bigint generated always as identity primary key,
    tenant_id    text        not null,
    kind         text        not null,
    -- The tenant's local date the report covers: [period_start, period_end) are its midnights.
    period_date  date        not null,
    period_start timestamptz not null,
    period_end   timestamptz not null,
    -- The tenant's zone when the report was written: the period's edges are its local midnights.
    time_zone    text        not null,
    generated_at timestamptz not null,
    body         jsonb       not null,
    text         text        not null,
    unique (tenant_id, kind, period_start),
    unique (tenant_id, kind, period_date),
    check (period_end > period_start)
);

-- Each index serves one range scan of one tenant's day and carries the columns the aggregate
-- reads (INCLUDE), so the scans are index-only on a vacuumed table.

-- Alerts created in the period: counts and the noisiest sources.
create index alerts_tenant_created_idx on alerts (tenant_id, created_at) include (source);
-- Alerts acknowledged / resolved in the period, with the time it took. Partial: alerts never
-- acknowledged / not yet resolved are not in them.
create index alerts_tenant_acknowledged_idx on alerts (tenant_id, acknowledged_at) include (created_at)
    where acknowledged_at is not null;
create index alerts_tenant_resolved_idx on alerts (tenant_id, resolved_at) include (created_at)
    where resolved_at is not null;
-- Alerts still open at the end of the period: the unresolved ones (this index, small: only open
-- alerts) plus those resolved since (the index above).
create index alerts_tenant_open_idx on alerts (tenant_id, created_at) where resolved_at is null;
-- Pages in the period by responder.
create index notifications_tenant_created_idx on notifications (tenant_id, created_at) include (responder_id);
-- The escalation task's events in the period.
create index alert_events_tenant_at_idx on alert_events (tenant_id, at) include (event, escalation_step, alert_id);

-- +goose Down
drop index alert_events_tenant_at_idx;
drop index notifications_tenant_created_idx;
drop index alerts_tenant_open_idx;
drop index alerts_tenant_resolved_idx;
drop index alerts_tenant_acknowledged_idx;
drop index alerts_tenant_created_idx;
drop table reports;
