-- +goose Up
-- notifications_pending_idx (00003) served an outbox polled by next_attempt_at; pages have been
-- delivered through River since 00007, and no statement reads it any more. It still cost every
-- page insert and every status change an index entry, and it misled plans: delivery's enqueue
-- statement, given a batch's page ids, scanned every pending page through it (the planner,
-- going by statistics taken when few pages were pending, expected a handful), so during a
-- backlog each batch of an escalation run read the pending pages of all the batches before it
-- (bench/README.md). Without it the pages are found by their primary key. An index only:
-- binaries built before this migration run unchanged after it.
drop index notifications_pending_idx;

-- +goose Down
create index notifications_pending_idx on notifications (next_attempt_at) where status = 'pending';
