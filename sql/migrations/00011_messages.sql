-- +goose Up
-- opsworker:additive
-- Messages that are not pages (DESIGN.md, "Action links and follow-ups", "Handoff notices"):
-- follow-ups (an alert someone was paged for was acknowledged or resolved) and handoff notices
-- (who is on call now; your shift starts soon). They are messages to a contact method like pages
-- are, so they travel the same queue: one sender per channel, one throttle per destination, one
-- redaction, one retry schedule. deliveries is generalised for them; every new column has a
-- default or is nullable, so writers that know only pages keep working.

-- A team channel that hears every change of who is on call for a schedule.
create table schedule_subscriptions (
    id          bigint generated always as identity primary key,
    tenant_id   text        not null references tenants (id),
    schedule_id bigint      not null references oncall_schedules (id) on delete cascade,
    kind        text        not null check (kind in ('webhook', 'slack', 'email')),
    address     text        not null check (address <> ''),
    enabled     boolean     not null default true,
    created_at  timestamptz not null default now()
);
create index schedule_subscriptions_schedule_idx on schedule_subscriptions (schedule_id) where enabled;

-- message: what the delivery carries. A page has its notification and goes to a contact method;
-- a follow-up or a notice has the outbox row it comes from (source_id: the follow-up's or the
-- notice's id) and its content fixed when it was queued (payload), and goes to a contact method
-- or a subscription. Exactly one of the two destinations is set.
alter table deliveries
    add column message         text   not null default 'page' check (message in ('page', 'followup', 'notice')),
    add column source_id       bigint,
    add column subscription_id bigint references schedule_subscriptions (id) on delete set null,
    add column payload         jsonb,
    alter column notification_id drop not null,
    alter column contact_method_id drop not null;
alter table deliveries
    add constraint deliveries_page_check check ((message = 'page') = (notification_id is not null)),
    add constraint deliveries_source_check check (message = 'page' or (source_id is not null and payload is not null));
-- Exactly once per message and recipient, across replicas and reruns.
create unique index deliveries_message_once_idx on deliveries (message, source_id, contact_method_id, subscription_id)
    nulls not distinct where message <> 'page';

-- +goose Down
drop index deliveries_message_once_idx;
alter table deliveries drop constraint deliveries_source_check, drop constraint deliveries_page_check;
delete from deliveries where message <> 'page';
alter table deliveries
    alter column contact_method_id set not null,
    alter column notification_id set not null,
    drop column payload, drop column subscription_id, drop column source_id, drop column message;
drop table schedule_subscriptions;
