-- +goose Up
-- Delivery (tasks/delivery): where a page goes, the secret that signs a tenant's webhooks, and one
-- row per page per contact method with its outcome. River's own tables (river_job, ...) are
-- migrated by River's migrator, right after these migrations, under the same lock (sql/migrate.go).

-- Standard Webhooks secret (whsec_ + base64 of 24-64 random bytes) signing the tenant's webhook
-- deliveries. Without one a webhook delivery fails (no_webhook_secret): never sent unsigned.
alter table tenants add column webhook_secret text;

create table contact_methods (
    id           bigint generated always as identity primary key,
    tenant_id    text        not null references tenants (id),
    responder_id bigint      not null references responders (id) on delete cascade,
    kind         text        not null check (kind in ('webhook', 'slack', 'email')),
    address      text        not null check (address <> ''),
    enabled      boolean     not null default true,
    created_at   timestamptz not null default now()
);
-- Serves the enqueue: a batch's responders' enabled contact methods.
create index contact_methods_responder_idx on contact_methods (responder_id) where enabled;

-- responders.email and responders.webhook_url stay readable for old writers; their values become
-- contact methods.
insert into contact_methods (tenant_id, responder_id, kind, address)
select tenant_id, id, 'email', email from responders where coalesce(email, '') <> '';
insert into contact_methods (tenant_id, responder_id, kind, address)
select tenant_id, id, 'webhook', webhook_url from responders where coalesce(webhook_url, '') <> '';

-- One row per page per contact method, inserted with its River job in the transaction that
-- inserts the page. contact_method_id has no foreign key: a delivery is history and outlives the
-- contact method it used.
create table deliveries (
    id                bigint generated always as identity primary key,
    tenant_id         text        not null,
    notification_id   bigint      not null references notifications (id) on delete cascade,
    contact_method_id bigint      not null,
    kind              text        not null check (kind in ('webhook', 'slack', 'email')),
    status            text        not null default 'pending' check (status in ('pending', 'sent', 'failed', 'cancelled')),
    attempts          int         not null default 0 check (attempts >= 0),
    last_error        text,
    response_code     int,
    created_at        timestamptz not null default now(),
    sent_at           timestamptz,
    finished_at       timestamptz,
    unique (notification_id, contact_method_id),
    check ((status = 'pending') = (finished_at is null))
);
-- Serves the report's deliveries by channel and outcome, a tenant's day at a time.
create index deliveries_tenant_created_idx on deliveries (tenant_id, created_at) include (kind, status);

-- +goose Down
drop table deliveries;
drop table contact_methods;
alter table tenants drop column webhook_secret;
