-- +goose Up
-- The console (console/, issue 12) reads the run history through the scheduler's listing
-- (scheduler/runs.go): newest first, filtered by job, status, trigger and time. The indexes of
-- 00001 serve a job and a window; a status or a trigger without a job needs its own, or "the
-- failed runs" and "the manual runs" would walk every other run of the window to find the few
-- that match. Runs are written about once a minute: two more indexes cost nothing worth counting.
create index job_runs_status_started_idx on job_runs (status, started_at);
create index job_runs_trigger_started_idx on job_runs (trigger, started_at);

-- +goose Down
drop index job_runs_trigger_started_idx;
drop index job_runs_status_started_idx;
