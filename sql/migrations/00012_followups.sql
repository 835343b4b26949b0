-- +goose Up
-- opsworker:additive
-- Follow-ups (DESIGN.md, "Action links and follow-ups"): everyone who was paged for an alert hears
-- when it is later acknowledged, resolved or triggered again, whoever made the change — another
-- service, a responder through a signed action link, the ack timeout, the heartbeat task.
--
-- contact_methods.status_updates: whether a contact method hears those changes (default: yes).
alter table contact_methods add column status_updates boolean not null default true;

-- followups is the outbox of those changes: one row per change of alerts.status of an alert that
-- has pages, written by the trigger below in the transaction that changes it, so no change is
-- missed and none is recorded without its commit. The followups task (tasks/followups) claims the
-- rows not yet processed, queues one delivery per contact method that was sent a page of the alert
-- queued before the change (deliveries.message 'followup', source_id = the row's id, unique per
-- recipient), and marks them processed in the same transaction: exactly once per change and
-- contact method. A page whose attempt was in flight at the change is sent after it: the task
-- looks again at the changes of the last minutes, for such late recipients.
--
-- Who and how: the worker's own writes say so in transaction-local settings (alertchange.Attribute):
-- opsworker.via (link, ack_timeout, heartbeat), opsworker.by (a responder's name) and opsworker.at
-- (the worker's clock). A write without them is another service's: via is null (told as
-- "service"), by is the acknowledged_by it set, and at is the acknowledged_at or resolved_at it
-- set (its transaction's time when it set neither).
create table followups (
    id              bigint generated always as identity primary key,
    tenant_id       text        not null,
    alert_id        bigint      not null references alerts (id) on delete cascade,
    -- The alert's status after the change, and before it.
    status          text        not null,
    previous_status text        not null,
    changed_at      timestamptz not null,
    changed_by      text,
    -- null: another service (no constraint: a trigger must never fail another service's write).
    via             text,
    -- When the change was made: the trigger's clock_timestamp(), after the row lock was taken, so
    -- a page queued before the change (its delivery's created_at) is earlier, one queued after
    -- it later.
    created_at      timestamptz not null default now(),
    -- When the task queued its messages (null: not yet), and how many.
    processed_at    timestamptz,
    messages        int
);
-- The task's claim: unprocessed changes in order, only those in the index.
create index followups_pending_idx on followups (id) where processed_at is null;
-- The task's second look at recently processed changes (a page whose attempt was in flight at the
-- change is sent after it).
create index followups_processed_idx on followups (processed_at) where processed_at is not null;
-- An alert's follow-ups (its timeline), and the cascade from a deleted alert.
create index followups_alert_idx on followups (alert_id);

-- +goose StatementBegin
create function opsworker_alert_status_changed() returns trigger language plpgsql as $$
begin
    -- Only an alert that has paged someone has anyone to tell (notifications_page_key's leading
    -- alert_id answers this with one index probe).
    if not exists (select 1 from notifications n where n.alert_id = new.id) then
        return null;
    end if;
    insert into followups (tenant_id, alert_id, status, previous_status, changed_at, changed_by, via, created_at)
    values (new.tenant_id, new.id, new.status, old.status,
            coalesce(nullif(current_setting('opsworker.at', true), '')::timestamptz,
                     case when new.acknowledged_at is distinct from old.acknowledged_at then new.acknowledged_at end,
                     case when new.resolved_at is distinct from old.resolved_at then new.resolved_at end,
                     now()),
            coalesce(nullif(current_setting('opsworker.by', true), ''),
                     case when new.acknowledged_at is distinct from old.acknowledged_at then new.acknowledged_by end),
            nullif(current_setting('opsworker.via', true), ''),
            clock_timestamp());
    perform pg_notify('opsworker_followups', new.tenant_id);
    return null;
end
$$;
-- +goose StatementEnd

create trigger alerts_status_followups after update of status on alerts for each row
    when (old.status is distinct from new.status)
    execute function opsworker_alert_status_changed();

-- +goose Down
drop trigger alerts_status_followups on alerts;
drop function opsworker_alert_status_changed();
drop table followups;
alter table contact_methods drop column status_updates;
