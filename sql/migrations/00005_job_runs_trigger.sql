-- +goose Up
-- Run history, for the faults issue: what caused each run, and one row per cron firing.
--
-- trigger says what started a run: a cron firing ('schedule'), a wake-up ('notify') or a person
-- ('manual'). Rows written before this migration keep it null (their cause was not recorded).
alter table job_runs add column trigger text check (trigger in ('schedule', 'notify', 'manual'));
alter table job_runs alter column trigger set default 'schedule';

-- Exactly one row per cron firing, whatever the replicas and faults: the replica that runs it,
-- one that skipped it while its previous run still ran, and one that could not start it (written
-- once the database answers again) all write the same (job, scheduled_at); the first write wins,
-- except that a real run replaces a row saying the firing did not run (see scheduler/history.go).
-- Also serves the check that no replica has already run a firing.
create unique index job_runs_firing_idx on job_runs (job, scheduled_at) where trigger = 'schedule';

-- +goose Down
drop index job_runs_firing_idx;
alter table job_runs drop column trigger;
