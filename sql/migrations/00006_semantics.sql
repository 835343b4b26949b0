-- +goose Up
-- Semantics under real-world edits (DESIGN.md, "Escalation semantics" and "Report semantics"):
-- restarts and passes, the delay range, tenants' creation time, overrides that go with their
-- responders. Every change keeps what existing rows mean, and none fails on existing bad rows.

-- Restarts. A pass is one run of an alert through its policy from the first step; a restart
-- (another service set escalation_step = null, or the alert's policy is no longer the one it was
-- escalated with) begins the next pass, whose pages are new pages. Existing alerts are in pass 0.
-- escalated_policy_id is the policy escalation_step and escalation_loop refer to: the one the
-- worker last paged a step of (null: none yet in this pass). The alerts that have paged a step
-- get their current policy, so that their position keeps meaning what it meant; the others have
-- nothing to restart. escalation_rewound is set by the ack timeout, which itself sets
-- escalation_step = null to page position 0 of the next loop of the same pass: that null is the
-- worker's, not a restart (DESIGN: the ack timeout keeps its pass and uses loop + 1).
alter table alerts
    add column escalation_pass     int     not null default 0 check (escalation_pass >= 0),
    add column escalated_policy_id bigint,
    add column escalation_rewound  boolean not null default false;
update alerts set escalated_policy_id = escalation_policy_id
where escalation_step is not null and escalation_policy_id is not null;

-- The outbox's key gains the pass: a restarted alert pages each step anew. Every existing page
-- is in pass 0, so for them the new key means exactly what the old one did (and no existing row
-- can violate it: it has one column more).
alter table notifications add column escalation_pass int not null default 0 check (escalation_pass >= 0);
alter table notifications drop constraint notifications_alert_id_escalation_loop_escalation_step_resp_key;
alter table notifications add constraint notifications_page_key
    unique (alert_id, escalation_pass, escalation_loop, escalation_step, responder_id);

-- The timeline names the pass too, so every page is matched by the event that paged it.
alter table alert_events add column escalation_pass int not null default 0 check (escalation_pass >= 0);

-- A step's delay is at most a year (an API's way of saying "never" is bad data). NOT VALID: new
-- and updated rows are checked, existing ones are not, so the migration never fails on them; the
-- worker reports a longer stored delay as an escalation_error (delay_out_of_range) and waits a
-- year, never overflowing.
alter table escalation_steps add constraint escalation_steps_delay_minutes_range
    check (delay_minutes between 1 and 525600) not valid;

-- When the tenant was created: no report covers a day that ended before it. Existing tenants
-- keep null (age unknown: reports go back REPORT_CATCHUP_DAYS); new ones get the time of their
-- insert unless the writer says otherwise. (The default is set after the column is added, so
-- existing rows are not stamped with the migration's time.)
alter table tenants add column created_at timestamptz;
alter table tenants alter column created_at set default now();

-- An override goes with the responders it names, like a step target does (00003): deleting a
-- responder who once covered a shift must not fail on a foreign key, and an override naming a
-- responder who is gone means nothing. Existing rows satisfied the old keys, so they satisfy the
-- new ones. The indexes serve the cascades.
alter table oncall_overrides drop constraint oncall_overrides_responder_id_fkey;
alter table oncall_overrides drop constraint oncall_overrides_replaces_responder_id_fkey;
alter table oncall_overrides add constraint oncall_overrides_responder_id_fkey
    foreign key (responder_id) references responders (id) on delete cascade;
alter table oncall_overrides add constraint oncall_overrides_replaces_responder_id_fkey
    foreign key (replaces_responder_id) references responders (id) on delete cascade;
create index oncall_overrides_responder_idx on oncall_overrides (responder_id);
create index oncall_overrides_replaces_idx on oncall_overrides (replaces_responder_id)
    where replaces_responder_id is not null;

-- +goose Down
-- Going back loses the passes: pages of a restart (pass > 0) that repeat a pass-0 page under the
-- old key are deleted first, so that key can be restored.
drop index oncall_overrides_replaces_idx;
drop index oncall_overrides_responder_idx;
alter table oncall_overrides drop constraint oncall_overrides_replaces_responder_id_fkey;
alter table oncall_overrides drop constraint oncall_overrides_responder_id_fkey;
alter table oncall_overrides add constraint oncall_overrides_responder_id_fkey
    foreign key (responder_id) references responders (id);
alter table oncall_overrides add constraint oncall_overrides_replaces_responder_id_fkey
    foreign key (replaces_responder_id) references responders (id);
alter table tenants drop column created_at;
alter table escalation_steps drop constraint escalation_steps_delay_minutes_range;
alter table alert_events drop column escalation_pass;
delete from notifications n
where exists (select 1 from notifications o
              where o.alert_id = n.alert_id and o.escalation_loop = n.escalation_loop
                and o.escalation_step = n.escalation_step and o.responder_id = n.responder_id
                and (o.escalation_pass, o.id) < (n.escalation_pass, n.id));
alter table notifications drop constraint notifications_page_key;
alter table notifications add constraint notifications_alert_id_escalation_loop_escalation_step_resp_key
    unique (alert_id, escalation_loop, escalation_step, responder_id);
alter table notifications drop column escalation_pass;
alter table alerts
    drop column escalation_rewound,
    drop column escalated_policy_id,
    drop column escalation_pass;
