-- +goose Up
-- opsworker:additive
-- Fleet and upgrades (DESIGN.md, issue 17).
--
-- schema_compatibility says, for every migration applied, the oldest build of opsworker that may
-- still run against the database once it is applied: a build made for schema version B runs on a
-- database at version D >= B only if the floor of D is <= B. A migration marked
-- "opsworker:additive" (new tables, nullable columns, defaults) keeps the floor of the one before
-- it; any other migration raises the floor to itself. The newer build writes these rows when it
-- migrates, so an older build — which cannot read a migration it does not carry — learns from the
-- database whether it may go on or must stand down.
create table schema_compatibility (
    version    bigint      primary key,
    floor      bigint      not null check (floor <= version),
    applied_at timestamptz not null default now()
);

-- worker_instances: each opsworker process registers at start, refreshes seen_at while it runs
-- and sets stopped_at on a clean exit. settings holds a digest per setting that must agree
-- across replicas (the delivery allow-list, rates, action settings), never a value; config_digest
-- digests them all, for a quick comparison.
create table worker_instances (
    instance       text        primary key,
    version        text        not null,
    schema_version bigint      not null,
    config_digest  text        not null,
    settings       jsonb       not null default '{}',
    started_at     timestamptz not null,
    seen_at        timestamptz not null,
    stopped_at     timestamptz
);
-- Live peers: the processes seen recently that have not stopped.
create index worker_instances_seen_idx on worker_instances (seen_at) where stopped_at is null;

-- +goose Down
drop table worker_instances;
drop table schema_compatibility;
