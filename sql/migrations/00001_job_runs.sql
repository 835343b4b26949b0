-- +goose Up
-- Run history of the scheduler: one row per run of a job (see scheduler/history.go).
create table job_runs (
    id           bigint generated always as identity primary key,
    job          text        not null,
    scheduled_at timestamptz,
    started_at   timestamptz not null,
    finished_at  timestamptz,
    status       text        not null check (status in ('running', 'succeeded', 'failed', 'skipped')),
    error        text,
    summary      jsonb,
    instance     text        not null,
    check ((status = 'running') = (finished_at is null))
);

-- Serves "latest runs of a job" (status pages, tests) and the 30-day prune.
create index job_runs_job_started_idx on job_runs (job, started_at);
-- Serves the check that no replica has already run a firing.
create index job_runs_job_scheduled_idx on job_runs (job, scheduled_at);
-- Serves finding a job's runs still marked running (abandoned by a dead process) at each run's
-- start: only running rows are in it, so it stays tiny whatever the retention.
create index job_runs_job_running_idx on job_runs (job) where status = 'running';
-- Serves the prune of every job at once.
create index job_runs_started_idx on job_runs (started_at);

-- +goose Down
drop table job_runs;
