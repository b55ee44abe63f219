-- Webhooks, events, the delivery outbox and its attempt log. Times: epoch milliseconds.
CREATE TABLE webhooks (
    id                text PRIMARY KEY,
    tenant_id         text NOT NULL,
    url               text NOT NULL,
    events            text NOT NULL,            -- JSON array of types, or ["*"]
    description       text NOT NULL DEFAULT '',
    secret            text NOT NULL,             -- sealed (Fernet)
    old_secrets       text NOT NULL DEFAULT '[]', -- rotated-out secrets in their grace period
    active            boolean NOT NULL,
    created_at        bigint NOT NULL,
    last_triggered_at bigint,
    failing_since     bigint,                   -- first failed attempt since the last success
    disabled_reason   text                      -- why webhookd disabled it; NULL when enabled
);
-- list a tenant's webhooks; fan-out of a tenant's event
CREATE INDEX webhooks_by_tenant ON webhooks (tenant_id, id);

CREATE TABLE events (
    id              text PRIMARY KEY,
    tenant_id       text NOT NULL,
    type            text NOT NULL,
    body            bytea NOT NULL,             -- the exact bytes every delivery sends
    idempotency_key text,
    request_hash    text,                       -- of type + data, to refuse a reused key
    deliveries      integer NOT NULL,
    created_at      bigint NOT NULL
);
CREATE UNIQUE INDEX events_by_idempotency_key
    ON events (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- retention: the oldest events first
CREATE INDEX events_by_age ON events (created_at);

CREATE TABLE deliveries (
    id               text PRIMARY KEY,
    event_id         text NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    webhook_id       text NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id        text NOT NULL,
    event_type       text NOT NULL,
    status           text NOT NULL,             -- pending | delivered | failed
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  bigint NOT NULL,
    locked_until     bigint,                    -- leased to a worker until then
    lease_token      text,
    manual           boolean NOT NULL DEFAULT false, -- a one-off resend: no retry chain follows
    created_at       bigint NOT NULL,
    last_attempt_at  bigint,
    last_http_status integer
);
-- the claim, in two lanes so a retry backlog cannot delay first attempts
CREATE INDEX deliveries_due_first ON deliveries (next_attempt_at, webhook_id)
    WHERE status = 'pending' AND attempts = 0;
CREATE INDEX deliveries_due_retry ON deliveries (next_attempt_at, webhook_id)
    WHERE status = 'pending' AND attempts > 0;
-- a webhook's delivery log, newest first (ids sort by creation time)
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id);
-- the same, filtered by status
CREATE INDEX deliveries_by_webhook_status ON deliveries (webhook_id, status, id);
-- recover: a webhook's failed deliveries in a time window
CREATE INDEX deliveries_failed ON deliveries (webhook_id, created_at) WHERE status = 'failed';
-- cascade from events, and the purge's "nothing pending" check
CREATE INDEX deliveries_by_event ON deliveries (event_id);

CREATE TABLE attempts (
    id               bigserial PRIMARY KEY,
    delivery_id      text NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at     bigint NOT NULL,
    duration_ms      integer NOT NULL,
    http_status      integer,
    error            text,
    response_excerpt text NOT NULL DEFAULT '',
    request_headers  text NOT NULL DEFAULT '{}' -- JSON; signatures, never secrets
);
CREATE INDEX attempts_by_delivery ON attempts (delivery_id, id);

-- Append-only: who changed what, when (secrets excluded).
CREATE TABLE audit_log (
    id         text PRIMARY KEY,              -- aud_…, sorts by time
    tenant_id  text NOT NULL,
    actor      text NOT NULL,                 -- the token's subject, or "webhookd"
    action     text NOT NULL,                 -- webhook.created, delivery.retried, …
    webhook_id text,
    details    text NOT NULL DEFAULT '{}',    -- JSON
    at         bigint NOT NULL
);
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);
