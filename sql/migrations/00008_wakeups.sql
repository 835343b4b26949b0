-- +goose Up
-- Wake-ups (escalation at once): an alert that becomes due — inserted due, or updated so that it
-- is due (another service's "escalate now" sets next_escalation_at = now()) — notifies channel
-- opsworker_escalation with its tenant id. Every `serve` process listens and runs the escalation
-- job soon after (see cmd/opsworker/listen.go); the cron spec stays the backstop. PostgreSQL
-- delivers a notification at commit and folds identical ones of a transaction, so a burst of a
-- tenant's alerts is one wake-up.

-- +goose StatementBegin
create function opsworker_alert_due() returns trigger language plpgsql as $$
begin
    perform pg_notify('opsworker_escalation', new.tenant_id);
    return null;
end
$$;
-- +goose StatementEnd

create trigger alerts_due_on_insert after insert on alerts for each row
    when (new.status = 'triggered' and new.next_escalation_at <= now())
    execute function opsworker_alert_due();

-- An update notifies when it sets the alert due: triggered again, or a new due
-- next_escalation_at (also the worker's own, for a step that paged nobody: the next step is due at
-- once). The worker's normal update sets next_escalation_at in the future and notifies nothing.
create trigger alerts_due_on_update after update of status, next_escalation_at on alerts for each row
    when (new.status = 'triggered' and new.next_escalation_at <= now()
          and (old.status is distinct from 'triggered' or old.next_escalation_at is distinct from new.next_escalation_at))
    execute function opsworker_alert_due();

-- +goose Down
drop trigger alerts_due_on_update on alerts;
drop trigger alerts_due_on_insert on alerts;
drop function opsworker_alert_due();
